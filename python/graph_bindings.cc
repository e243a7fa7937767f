// Python bindings of the graph runtime: build a graph from a text config, feed
// packets (numbers, strings, numpy images), observe or poll outputs, run.
//
//   g = edgepipe.Graph(config_text)
//   g.observe("out", lambda value, timestamp_us: ...)
//   g.start({"input_path": "video.avi"})
//   g.add("in", numpy_rgb_image, timestamp_us=0, image_format="RGB")
//   g.close_all(); g.wait_until_done()
//
// The GIL is released while C++ runs and taken only around Python code
// (observer callbacks). Calls that cannot work from inside one of the graph's
// own callbacks (waiting for the graph, a blocking add into a full queue)
// raise instead of deadlocking; dropping the last reference inside a callback
// hands the graph to a thread that finishes it; waits on the main thread stop
// on Ctrl-C (the graph is cancelled, KeyboardInterrupt raised).
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/calculator.h"
#include "core/graph.h"
#include "python/callback_scope.h"
#include "python/errors.h"
#include "python/numpy_interop.h"

namespace py = pybind11;

namespace edgepipe {
namespace {

using python::RaiseError;
using python::ThrowIfError;

using python::FromPacket;
using python::ToPacket;

SidePackets ToSidePackets(const py::dict& values) {
  SidePackets side_packets;
  for (const auto& [key, value] : values) side_packets[key.cast<std::string>()] = ToPacket(value, "");
  return side_packets;
}

// Only the main thread runs Python signal handlers.
bool OnMainThread() {
  static const unsigned long main_ident =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  return PyThread_get_thread_ident() == main_ident;
}

// Every graph a Python object owns, so that the interpreter's exit can stop
// them before it finalizes: a graph thread that takes the GIL (an observer,
// or Python code an observer calls) once finalization began is ended by a
// forced unwind, which aborts the process (issue 14).
struct LiveGraphs {
  std::mutex mutex;
  std::set<std::shared_ptr<Graph>> graphs;

  static LiveGraphs& Get() {
    static auto* live = new LiveGraphs();  // never destroyed: graph threads may outlive static destructors
    return *live;
  }
  void Add(const std::shared_ptr<Graph>& graph) {
    std::lock_guard lock(mutex);
    graphs.insert(graph);
  }
  void Remove(const std::shared_ptr<Graph>& graph) {
    std::lock_guard lock(mutex);
    graphs.erase(graph);
  }
};

// Registered with atexit, which runs before finalization while every thread
// may still take the GIL: cancels each live graph and waits for its threads.
void StopLiveGraphsAtExit() {
  std::set<std::shared_ptr<Graph>> graphs;
  {
    std::lock_guard lock(LiveGraphs::Get().mutex);
    graphs = LiveGraphs::Get().graphs;
  }
  py::gil_scoped_release release;  // observers still running need the GIL to return
  for (const auto& graph : graphs) {
    graph->Cancel();
    (void)graph->WaitUntilDone();
  }
}

class PyGraph {
 public:
  explicit PyGraph(const std::string& config_text, const std::string& source_name) : graph_(NewGraph()) {
    auto config = ParseGraphConfig(config_text, source_name);
    ThrowIfError(config.status());
    ThrowIfError(graph_->Initialize(*config));
  }
  static std::unique_ptr<PyGraph> FromFile(const std::string& path) {
    auto config = LoadGraphConfigFile(path);
    ThrowIfError(config.status());
    auto graph = std::unique_ptr<PyGraph>(new PyGraph());
    ThrowIfError(graph->graph_->Initialize(*config));
    return graph;
  }
  ~PyGraph() {
    LiveGraphs::Get().Remove(graph_);
    graph_->Cancel();
    if (python::CallbackScope::Inside(this)) {
      // The last reference went inside one of this graph's callbacks: the
      // graph cannot finish before the callback returns, so another thread
      // waits for it and frees it.
      // Released before the thread is made: had the lambda owned it, a failed
      // thread creation would destroy the graph here, the deadlock this avoids.
      auto* graph = new std::shared_ptr<Graph>(std::move(graph_));
      try {
        std::thread([graph] { delete graph; }).detach();
      } catch (const std::system_error&) {
        // No thread to finish it: leak rather than deadlock.
      }
      return;
    }
    py::gil_scoped_release release;
    graph_.reset();
  }

  void Observe(const std::string& stream, py::function callback) {
    auto owned = std::make_shared<python::PyOwned>(std::move(callback));
    const void* self = this;
    ThrowIfError(graph_->ObserveOutputStream(stream, [owned, self, stream](const Packet& packet) -> Status {
      if (python::InterpreterExiting()) {
        return CancelledError("Python observer of \"{}\": the interpreter is exiting", stream);
      }
      py::gil_scoped_acquire gil;
      python::CallbackScope scope(self);
      try {
        owned->get()(FromPacket(packet), packet.timestamp().Value());
      } catch (py::error_already_set& error) {
        return UnknownError("Python observer raised {}", error.what());
      } catch (const std::exception& error) {
        return UnknownError("Python observer raised: {}", error.what());
      }
      return OkStatus();
    }));
  }

  void Start(const py::dict& side_packets) {
    RefuseInsideCallback("start()");
    SidePackets values = ToSidePackets(side_packets);
    py::gil_scoped_release release;
    LiveGraphs::Get().Add(graph_);
    ThrowIfError(graph_->StartRun(values));
  }

  void Add(const std::string& stream, const py::object& value, int64_t timestamp_us, const std::string& image_format,
           bool block) {
    Packet packet = ToPacket(value, image_format).At(Timestamp(timestamp_us));
    Status status;
    {
      py::gil_scoped_release release;
      status = graph_->AddPacketToInputStream(stream, packet, AddMode::kFailIfFull);
    }
    if (status.code() != StatusCode::kUnavailable || !block) {
      ThrowIfError(status);
      return;
    }
    if (python::CallbackScope::Inside(this)) {
      RaiseError(StatusCode::kDeadlock,
                 fmt::format("add(\"{}\", block=True) from inside a callback of this graph: the queue is full and "
                             "waiting could deadlock, because the graph may need the thread running this callback "
                             "to drain it; use block=False and handle edgepipe.UnavailableError, or raise "
                             "max_queue_size",
                             stream));
    }
    ThrowIfError(WaitInterruptibly(
        [&] { return graph_->AddPacketToInputStream(stream, packet, AddMode::kBlockIfFull); }));
  }

  void Close(const std::string& stream) {
    py::gil_scoped_release release;
    ThrowIfError(graph_->CloseInputStream(stream));
  }
  void CloseAll() {
    py::gil_scoped_release release;
    ThrowIfError(graph_->CloseAllInputStreams());
  }
  void Cancel() {
    py::gil_scoped_release release;
    graph_->Cancel();
  }
  void WaitUntilIdle(bool interruptible) {
    RefuseInsideCallback("wait_until_idle()");
    if (!interruptible) {
      // Waits here: no helper thread (about 50 µs per call), at the price of
      // Ctrl-C taking effect only once the graph is idle.
      py::gil_scoped_release release;
      ThrowIfError(graph_->WaitUntilIdle());
      return;
    }
    ThrowIfError(WaitInterruptibly([&] { return graph_->WaitUntilIdle(); }));
  }
  void WaitUntilDone() {
    RefuseInsideCallback("wait_until_done()");
    ThrowIfError(WaitInterruptibly([&] { return graph_->WaitUntilDone(); }));
  }
  void Run(const py::dict& side_packets) {
    RefuseInsideCallback("run()");
    SidePackets values = ToSidePackets(side_packets);
    {
      py::gil_scoped_release release;
      LiveGraphs::Get().Add(graph_);
      ThrowIfError(graph_->StartRun(values));
      Status closed = graph_->CloseAllInputStreams();
      if (!closed.ok()) {
        graph_->Cancel();
        (void)graph_->WaitUntilDone();
        ThrowIfError(closed);
      }
    }
    ThrowIfError(WaitInterruptibly([&] { return graph_->WaitUntilDone(); }));
  }
  py::object SidePacket(const std::string& name) {
    auto packet = graph_->GetOutputSidePacket(name);
    ThrowIfError(packet.status());
    return FromPacket(*packet);
  }
  py::list Stats() const {
    std::vector<NodeStats> all;
    {
      py::gil_scoped_release release;
      all = graph_->Stats();
    }
    py::list rows;
    for (const NodeStats& stats : all) {
      py::dict row;
      row["node"] = stats.node;
      row["calculator"] = stats.calculator;
      row["process_calls"] = stats.process_calls;
      row["process_time_us"] = stats.process_time_us;
      row["packets_in"] = stats.packets_in;
      row["packets_out"] = stats.packets_out;
      row["max_queue_seen"] = stats.max_queue_seen;
      row["dropped"] = stats.dropped;
      row["p50_us"] = stats.p50_us;
      row["p90_us"] = stats.p90_us;
      row["p99_us"] = stats.p99_us;
      row["max_us"] = stats.max_us;
      rows.append(row);
    }
    return rows;
  }
  py::list StreamStats() const {
    std::vector<edgepipe::StreamStats> all;
    {
      py::gil_scoped_release release;
      all = graph_->StreamStatistics();
    }
    py::list rows;
    for (const edgepipe::StreamStats& stats : all) {
      py::dict row;
      row["stream"] = stats.stream;
      row["packets"] = stats.packets;
      row["packets_per_second"] = stats.packets_per_second;
      rows.append(row);
    }
    return rows;
  }
  void EnableStatistics(bool enable) { graph_->EnableStatistics(enable); }
  void EnableTrace(const std::string& path, size_t buffer_events, int flush_interval_ms) {
    graph_->EnableTrace(TraceOptions{path, buffer_events, flush_interval_ms});
  }
  void SetStallTimeout(double seconds) {
    graph_->SetStallTimeout(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  }

 private:
  PyGraph() : graph_(NewGraph()) {}

  // Added to LiveGraphs when it starts (a graph that never ran has no threads).
  static std::shared_ptr<Graph> NewGraph() { return std::make_shared<Graph>(); }

  void RefuseInsideCallback(const char* call) const {
    if (!python::CallbackScope::Inside(this)) return;
    RaiseError(StatusCode::kDeadlock,
               fmt::format("{} from inside a callback of this graph would wait for the callback itself; call it "
                           "from the thread that started the graph",
                           call));
  }

  // Runs the blocking `call` with the GIL released. On the main thread the
  // call runs on a helper thread while this one checks for signals, so Ctrl-C
  // cancels the graph and raises KeyboardInterrupt instead of being held off
  // until the graph ends by itself.
  Status WaitInterruptibly(const std::function<Status()>& call) {
    if (!OnMainThread()) {
      py::gil_scoped_release release;
      return call();
    }
    struct Shared {
      std::mutex mutex;
      std::condition_variable done_changed;
      bool done = false;
      Status status;
    } shared;
    std::thread helper;
    {
      py::gil_scoped_release release;
      try {
        helper = std::thread([&] {
          Status status = call();
          std::lock_guard lock(shared.mutex);
          shared.status = std::move(status);
          shared.done = true;
          shared.done_changed.notify_all();
        });
      } catch (const std::system_error&) {
        return call();  // no thread for the wait: wait here, without Ctrl-C
      }
    }
    while (true) {
      bool done;
      {
        py::gil_scoped_release release;
        std::unique_lock lock(shared.mutex);
        done = shared.done_changed.wait_for(lock, std::chrono::milliseconds(100), [&] { return shared.done; });
      }
      if (done) break;
      if (PyErr_CheckSignals() != 0) {
        {
          py::gil_scoped_release release;
          graph_->Cancel();
          helper.join();
          // Finish the cancelled run (after an interrupted add() or
          // wait_until_idle(); after wait_until_done() it is already finished).
          (void)graph_->WaitUntilDone();
        }
        throw py::error_already_set();  // the signal handler's exception (KeyboardInterrupt)
      }
    }
    py::gil_scoped_release release;
    helper.join();
    return shared.status;
  }

  std::shared_ptr<Graph> graph_;  // shared with LiveGraphs
};

}  // namespace
}  // namespace edgepipe

void BindGraph(py::module_& m) {
  using edgepipe::PyGraph;
  py::module_::import("atexit").attr("register")(py::cpp_function(&edgepipe::StopLiveGraphsAtExit));
  py::class_<PyGraph>(m, "Graph", R"doc(A validated graph of calculators, built from a text-format config.

    g = edgepipe.Graph('input_stream: "in" output_stream: "out" '
                       'node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" }')
    g.observe("out", lambda value, timestamp_us: print(value))
    g.start()
    g.add("in", 42, timestamp_us=0)
    g.close_all()
    g.wait_until_done()

Values cross as bool, int, float, str, uint8 numpy images (HxW or HxWxC) and
numeric numpy arrays (tensors), without copying where the layout allows
(images and tensors coming out are read-only views of the packet's buffer);
results (detections, classifications, landmarks) come out as dicts and lists.
Observers run on graph threads (with the GIL). From inside an observer you may
add() with block=False, close(), cancel() and even drop the graph; waiting for
the graph there raises edgepipe.DeadlockError. Waits on the main thread stop on
Ctrl-C: the graph is cancelled and KeyboardInterrupt raised. Errors are
edgepipe.Error subclasses carrying the C++ message.)doc")
      .def(py::init<const std::string&, const std::string&>(), py::arg("config"), py::arg("source_name") = "<python>",
           "Parses and validates a text-format GraphConfig; source_name names it in error messages.")
      .def_static("from_file", &PyGraph::FromFile, py::arg("path"), "Loads and validates a .pbtxt graph config.")
      .def("observe", &PyGraph::Observe, py::arg("stream"), py::arg("callback"),
           "Calls callback(value, timestamp_us) for every packet of `stream`, on a graph thread. Call before "
           "start(). An exception in the callback fails the run with edgepipe.UnknownError naming the stream.")
      .def("start", &PyGraph::Start, py::arg("side_packets") = py::dict(),
           "Opens every node with the given input side packets {name: value}; the graph then runs in the "
           "background.")
      .def("add", &PyGraph::Add, py::arg("stream"), py::arg("value"), py::arg("timestamp_us"),
           py::arg("image_format") = "", py::arg("block") = true,
           "Adds a packet to a graph input stream: bool, int, float, str, or a uint8 image array (HxW or HxWxC; "
           "image_format GRAY8, RGB, RGBA, ... defaults from the channel count). Timestamps must increase. "
           "block=True waits while a queue downstream is full; block=False raises edgepipe.UnavailableError.")
      .def("close", &PyGraph::Close, py::arg("stream"), "Closes one graph input stream.")
      .def("close_all", &PyGraph::CloseAll, "Closes every graph input stream; the graph then runs to its end.")
      .def("cancel", &PyGraph::Cancel,
           "Stops the run as soon as running calculators return; wait_until_done() then raises "
           "edgepipe.CancelledError.")
      .def("wait_until_idle", &PyGraph::WaitUntilIdle, py::arg("interruptible") = true,
           "Waits until no node can run (all queues drained). interruptible=False waits without the helper "
           "thread that lets Ctrl-C stop the wait on the main thread (cheaper per call, for waits known to be "
           "short such as one frame; the KeyboardInterrupt is then raised once the graph is idle).")
      .def("wait_until_done", &PyGraph::WaitUntilDone,
           "Waits until every node has closed; raises the run's error if it failed.")
      .def("run", &PyGraph::Run, py::arg("side_packets") = py::dict(),
           "start(side_packets), close_all() and wait_until_done() in one call (for graphs with source nodes).")
      .def("side_packet", &PyGraph::SidePacket, py::arg("name"), "The value of an output side packet.")
      .def("stats", &PyGraph::Stats,
           "Per-node counters, readable while the graph runs: a list of dicts with node, calculator, "
           "process_calls, process_time_us, packets_in, packets_out, max_queue_seen, dropped and (when statistics "
           "are enabled) p50_us, p90_us, p99_us, max_us of the Process calls.")
      .def("stream_stats", &PyGraph::StreamStats,
           "Per-stream counters: a list of dicts with stream, packets, packets_per_second (over the run so far).")
      .def("enable_statistics", &PyGraph::EnableStatistics, py::arg("enable") = true,
           "Times every Process call of the next runs (stats() percentiles).")
      .def("enable_trace", &PyGraph::EnableTrace, py::arg("path"), py::arg("buffer_events") = 1 << 16,
           py::arg("flush_interval_ms") = 250,
           "Writes a Chrome trace-event JSON file of each following run (ui.perfetto.dev, chrome://tracing).")
      .def("set_stall_timeout", &PyGraph::SetStallTimeout, py::arg("seconds"),
           "When no node runs for this long and the graph is not done, the run fails with a diagnostic "
           "naming what each waiting node waits for. 0 disables it.");
}
