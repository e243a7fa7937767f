// MotTracksWriterCalculator: writes tracked detections as a MOT Challenge
// text file, the format MOT ground truth and evaluation tools use
// (`edgepipe mot-eval`, motmetrics):
//   frame,id,x,y,w,h,score,-1,-1,-1
// one line per track and frame; frames count from 1 (the first IMAGE packet);
// x, y, w, h are the box's left, top, width and height in pixels of IMAGE.
//
// Inputs  IMAGE (ImageFrame): every frame (its size converts the boxes, its
//         packets number the frames).
//         DETECTIONS (std::vector<Detection>): the tracks at that frame;
//         detections without a track_id are skipped.
// Side    OUTPUT_PATH (string): the file. Connected but unset (or ""), the
//         writer is off, like the other writers of the ready graphs.
//
//   node {
//     calculator: "MotTracksWriterCalculator"
//     input_stream: "IMAGE:frames"
//     input_stream: "DETECTIONS:tracks"
//     input_side_packet: "OUTPUT_PATH:tracks_path"
//   }
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/side_packet_values.h"
#include "core/calculator.h"

namespace edgepipe {

class MotTracksWriterCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->Input<ImageFrame>("IMAGE").Doc("every frame: numbers the frames and gives the pixel size");
    cc->Input<std::vector<Detection>>("DETECTIONS").Doc("tracked detections (track_id ≥ 0)");
    cc->AddInputSidePacket("OUTPUT_PATH", TypeId::Any()).Optional().Doc("MOT text file to write (string); unset or absent: off");
    cc->SetDoc(
        "Writes tracks in MOT Challenge text format, one line per track and frame: "
        "frame,id,x,y,w,h,score,-1,-1,-1 with frames from 1 and boxes in pixels of the frame. "
        "Detections without a track ID are skipped; an unset OUTPUT_PATH turns the writer off.");
    cc->SetExampleConfig(R"(node {
  calculator: "MotTracksWriterCalculator"
  input_stream: "IMAGE:frames"
  input_stream: "DETECTIONS:tracks"
  input_side_packet: "OUTPUT_PATH:tracks_path"
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(std::optional<std::string> path, StringSidePacket(*cc, "OUTPUT_PATH"));
    path_ = path.value_or("");
    if (path_.empty()) return OkStatus();  // off
    file_.open(path_, std::ios::out | std::ios::trunc);
    if (!file_) return NotFoundError("MotTracksWriterCalculator cannot write '{}' (missing directory or no permission)", path_);
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (cc->Inputs().Tag("IMAGE").IsEmpty()) return OkStatus();
    ++frame_;
    if (path_.empty() || cc->Inputs().Tag("DETECTIONS").IsEmpty()) return OkStatus();
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    EP_ASSIGN_OR_RETURN(const std::vector<Detection>* tracks, cc->Inputs().Tag("DETECTIONS").Get<std::vector<Detection>>());
    const float width = static_cast<float>(image->width()), height = static_cast<float>(image->height());
    for (const Detection& track : *tracks) {
      if (track.track_id < 0) continue;
      file_ << fmt::format("{},{},{:.2f},{:.2f},{:.2f},{:.2f},{:.4f},-1,-1,-1\n", frame_, track.track_id,
                           track.xmin * width, track.ymin * height, track.width * width, track.height * height,
                           track.score);
    }
    if (!file_) return DataLossError("writing tracks to '{}' failed (disk full?)", path_);
    return OkStatus();
  }

  Status Close(CalculatorContext*) override {
    if (!file_.is_open()) return OkStatus();
    file_.close();
    if (!file_) return DataLossError("closing '{}' failed", path_);
    return OkStatus();
  }

 private:
  std::string path_;
  std::ofstream file_;
  int64_t frame_ = 0;
};

EDGEPIPE_REGISTER_CALCULATOR(MotTracksWriterCalculator);

}  // namespace edgepipe
