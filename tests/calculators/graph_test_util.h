// Running a small graph in a test and collecting what its output streams carry.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/graph.h"

namespace edgepipe::testing {

struct CollectedOutputs {
  std::map<std::string, std::vector<Packet>> packets;
  std::vector<int64_t> Timestamps(const std::string& stream) const {
    std::vector<int64_t> result;
    auto it = packets.find(stream);
    if (it == packets.end()) return result;
    for (const Packet& packet : it->second) result.push_back(packet.timestamp().Value());
    return result;
  }
};

// Parses `config_text`, observes `streams`, runs to completion with `side_packets`.
inline Result<CollectedOutputs> RunAndCollect(const std::string& config_text, const std::vector<std::string>& streams,
                                              const SidePackets& side_packets = {}) {
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(config_text, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto collected = std::make_shared<CollectedOutputs>();
  auto mutex = std::make_shared<std::mutex>();
  for (const std::string& stream : streams) {
    collected->packets[stream];
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream(stream, [collected, mutex, stream](const Packet& packet) {
      std::lock_guard lock(*mutex);
      collected->packets[stream].push_back(packet);
      return OkStatus();
    }));
  }
  EP_RETURN_IF_ERROR(graph.Run(side_packets));
  return *collected;
}

}  // namespace edgepipe::testing
