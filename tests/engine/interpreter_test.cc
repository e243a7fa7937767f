#include "engine/interpreter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>

#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "engine/op_versions.h"
#include "engine/kernels/conv_f32.h"
#include "engine/kernels/conv_q8.h"
#include "engine/kernels/dwconv_q8.h"
#include "engine/threading/thread_pool.h"
#include "tests/engine/test_models.h"
#include "tests/testing/shared_data.h"

namespace edgepipe::engine {
namespace {

using ::testing::HasSubstr;
using testing::BuildTinyModel;
using testing::TinyModelSpec;

TEST(InterpreterTest, RunsATinyModelAndFusesRelu) {
  TinyModelSpec spec;
  spec.add_relu = true;
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  auto interpreter = Interpreter::Create(*model);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  Interpreter& it = **interpreter;
  const float in[4] = {-5.0f, -1.0f, 0.5f, 3.0f};
  std::memcpy(it.input(0).data, in, sizeof(in));
  ASSERT_TRUE(it.Invoke().ok());
  const float* out = it.output(0).as<const float>();
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 2.5f);
  EXPECT_EQ(out[3], 5.0f);
  auto placements = it.placements();
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(placements[0].backend, "XNNPACK");
  EXPECT_EQ(placements[1].backend, "fused");
}

TEST(InterpreterTest, RejectsBadThreadCount) {
  auto model = Model::FromBuffer(BuildTinyModel());
  ASSERT_TRUE(model.ok());
  auto interpreter = Interpreter::Create(*model, {.num_threads = 0});
  ASSERT_FALSE(interpreter.ok());
  EXPECT_THAT(interpreter.status().message(), HasSubstr("num_threads"));
}

TEST(InterpreterTest, Fp16HintIsReported) {
  auto model = Model::FromBuffer(BuildTinyModel());
  ASSERT_TRUE(model.ok());
  auto interpreter = Interpreter::Create(*model, {.num_threads = 1, .fp16_inference = true});
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  // Either honoured, or the status says why not; never silently ignored.
  EXPECT_TRUE((*interpreter)->fp16_inference_active() || !(*interpreter)->fp16_status().ok());
}

TEST(InterpreterTest, XnnpackRunsOnOurThreadPool) {
  auto pool = ThreadPool::Create(2);
  ASSERT_TRUE(pool.ok());
  Status s = CheckXnnpackRunsOn(**pool);
  ASSERT_TRUE(s.ok()) << s;
  // The check ran an XNNPACK operator on this pool: its loop came through our
  // pthreadpool functions.
  EXPECT_GT((*pool)->loops_through_pthreadpool_api(), 0u);
}

// Splitting work between threads must not change a single output value.
TEST(InterpreterTest, TwoThreadsGiveTheOutputsOfOne) {
  for (const char* file : {"mobilenet_v2_1.0_224_quant.tflite", "palm_detection_lite.tflite"}) {
    const std::string path = edgepipe::testing::ModelPath(file);
    EDGEPIPE_REQUIRE_SHARED_FILE(path);
    auto model = Model::Load(path);
    ASSERT_TRUE(model.ok()) << model.status();
    std::vector<std::vector<std::byte>> outputs[2];
    for (int threads : {1, 2}) {
      auto interpreter = Interpreter::Create(*model, {.num_threads = threads});
      ASSERT_TRUE(interpreter.ok()) << interpreter.status();
      Interpreter& it = **interpreter;
      for (size_t i = 0; i < it.num_inputs(); ++i) {
        auto* bytes = static_cast<unsigned char*>(it.input(i).data);
        for (size_t b = 0; b < it.input(i).num_bytes(); ++b) bytes[b] = static_cast<unsigned char>(b * 7919 % 251);
        if (it.input(i).dtype == DType::kFloat32) {  // keep floats finite and small
          float* f = static_cast<float*>(it.input(i).data);
          for (size_t k = 0; k < it.input(i).num_bytes() / 4; ++k) f[k] = static_cast<float>(k % 255) / 127.5f - 1.0f;
        }
      }
      for (int run = 0; run < 3; ++run) ASSERT_TRUE(it.Invoke().ok());
      for (size_t o = 0; o < it.num_outputs(); ++o) {
        const auto* data = static_cast<const std::byte*>(it.output(o).data);
        outputs[threads - 1].emplace_back(data, data + it.output(o).num_bytes());
      }
    }
    EXPECT_EQ(outputs[0], outputs[1]) << file;
  }
}

// The backend named `own` when the default list has it on this CPU (under
// EDGEPIPE_ISA), else XNNPACK, which runs those ops otherwise.
std::string DefaultOr(std::string_view own) {
  const Isa cap = EffectiveIsaCap(std::nullopt);
  for (const BackendFactory& f : BackendFactories())
    if (f.name == own) return f.in_default_list(cap) ? std::string(own) : "XNNPACK";
  return "unknown backend " + std::string(own);
}

struct PlanCase {
  const char* file;
  // An op name -> backend all its instances use; "f32conv" / "q8conv": the
  // own conv backend where the default list has it, else XNNPACK.
  std::map<std::string, std::string> op_backend;
};

std::string ExpectedBackend(const std::string& expected) {
  if (expected == "f32conv") return DefaultOr("own-conv-f32");
  if (expected == "q8conv") return DefaultOr("own-conv-q8");
  return expected;
}

class SharedModelPlanTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(SharedModelPlanTest, PlansAndRuns) {
  const std::string path = edgepipe::testing::ModelPath(GetParam().file);
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  for (int threads : {1, 2}) {
    auto interpreter = Interpreter::Create(*model, {.num_threads = threads});
    ASSERT_TRUE(interpreter.ok()) << interpreter.status();
    Interpreter& it = **interpreter;
    auto placements = it.placements();
    ASSERT_EQ(placements.size(), (*model)->operators().size());
    for (const OpPlacement& p : placements) {
      auto expected = GetParam().op_backend.find(p.op_name);
      if (expected != GetParam().op_backend.end()) {
        EXPECT_EQ(p.backend, ExpectedBackend(expected->second)) << "operator " << p.op_index << " " << p.op_name;
      }
      if (p.backend != "folded" && p.backend != "fused") {
        EXPECT_GE(p.step, 0) << "operator " << p.op_index << " " << p.op_name;
      }
    }
    EXPECT_GT(it.num_steps(), 0u);
    EXPECT_GT(it.arena_bytes(), 0u);
    for (size_t i = 0; i < it.num_inputs(); ++i) std::memset(it.input(i).data, 0, it.input(i).num_bytes());
    int steps_seen = 0;
    it.set_profile_listener([&](const StepProfile& p) {
      EXPECT_FALSE(p.op_names.empty());
      EXPECT_GE(p.microseconds, 0.0);
      ++steps_seen;
    });
    Status s = it.Invoke();
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(steps_seen, static_cast<int>(it.num_steps()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, SharedModelPlanTest,
    ::testing::Values(
        PlanCase{"face_detection_short_range.tflite",
                 {{"DEQUANTIZE", "folded"},
                  {"CONV_2D", "f32conv"},
                  {"DEPTHWISE_CONV_2D", "f32conv"},
                  {"CONCATENATION", "own-kernels"},
                  {"RELU", "fused"}}},
        PlanCase{"palm_detection_lite.tflite",
                 {{"DEQUANTIZE", "folded"}, {"CONV_2D", "f32conv"}, {"DEPTHWISE_CONV_2D", "f32conv"}}},
        // (mobilenet_v1's 8- and 16-channel depthwise convs stay on XNNPACK: DepthwiseQ8Worthwhile.)
        PlanCase{"mobilenet_v1_0.25_128_quant.tflite",
                 {{"CONV_2D", "q8conv"}, {"SOFTMAX", "own-kernels"}, {"AVERAGE_POOL_2D", "own-kernels"}}},
        PlanCase{"mobilenet_v2_1.0_224_quant.tflite",
                 {{"CONV_2D", "q8conv"}, {"DEPTHWISE_CONV_2D", "q8conv"}, {"ADD", "XNNPACK"}}},
        PlanCase{"tf2_mobilenet_v2_1.0_224_ptq.tflite", {{"DEPTHWISE_CONV_2D", "q8conv"}, {"MEAN", "XNNPACK"}}},
        PlanCase{"movenet_single_pose_lightning_ptq.tflite",
                 {{"DEPTHWISE_CONV_2D", "q8conv"}, {"GATHER_ND", "own-kernels"}, {"CAST", "own-kernels"}}},
        PlanCase{"deeplabv3_mnv2_dm05_pascal_quant.tflite",
                 {{"DEPTHWISE_CONV_2D", "q8conv"}, {"ARG_MAX", "own-kernels"}, {"RESIZE_BILINEAR", "XNNPACK"}}},
        PlanCase{"traffic_model.tflite", {{"TFLite_Detection_PostProcess", "own-kernels"}, {"SPLIT", "own-kernels"}}}));

TEST(InterpreterTest, DetectionOutputsGetStaticShapes) {
  const std::string path = edgepipe::testing::ModelPath("traffic_model.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  auto interpreter = Interpreter::Create(*model);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  const Interpreter& it = **interpreter;
  const int boxes = it.output_index("TFLite_Detection_PostProcess");
  const int count = it.output_index("TFLite_Detection_PostProcess:3");
  ASSERT_GE(boxes, 0);
  ASSERT_GE(count, 0);
  ASSERT_EQ(it.output(boxes).rank(), 3);
  EXPECT_EQ(it.output(boxes).shape[2], 4);
  EXPECT_EQ(it.output(count).shape, std::vector<int32_t>{1});
}

TEST(InterpreterTest, PreserveAllTensorsExposesIntermediates) {
  const std::string path = edgepipe::testing::ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  auto plain = Interpreter::Create(*model);
  auto preserving = Interpreter::Create(*model, {.preserve_all_tensors = true});
  ASSERT_TRUE(plain.ok() && preserving.ok());
  // Every op its own step. (Without the VNNI conv, XNNPACK groups this model's
  // ops and preserving makes more steps; with it and the own depthwise conv,
  // few XNNPACK ops remain, and none next to each other.)
  EXPECT_GE((*preserving)->num_steps(), (*plain)->num_steps());
  size_t live_ops = 0;
  for (const OpPlacement& p : (*preserving)->placements()) live_ops += p.step >= 0;
  EXPECT_EQ((*preserving)->num_steps(), live_ops);
  for (size_t t = 0; t < (*preserving)->num_tensors(); ++t)
    EXPECT_NE((*preserving)->tensor(static_cast<int>(t)), nullptr) << t;
}

// palm detection's blocks end in CONV_2D -> ADD -> PRELU; the fp32 conv
// backend runs the three as one step. Without fusion (preserve_all_tensors
// keeps every intermediate) the same kernels must give identical outputs.
TEST(InterpreterTest, FusedConvEpilogueMatchesSeparateOps) {
  const std::string path = edgepipe::testing::ModelPath("palm_detection_lite.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  for (int threads : {1, 2}) {
    // The fp32 conv backend first whatever the default list is on this CPU.
    const std::vector<std::string> backends = {"own-conv-f32", "XNNPACK", "own-kernels"};
    auto fused = Interpreter::Create(*model, {.num_threads = threads, .backends = backends});
    auto separate =
        Interpreter::Create(*model, {.num_threads = threads, .preserve_all_tensors = true, .backends = backends});
    ASSERT_TRUE(fused.ok()) << fused.status();
    ASSERT_TRUE(separate.ok()) << separate.status();
    int conv_add_prelu = 0, conv_prelu = 0;
    (*fused)->set_profile_listener([&](const StepProfile& p) {
      if (p.op_names == std::vector<std::string>{"CONV_2D", "ADD", "PRELU"}) ++conv_add_prelu;
      if (p.op_names == std::vector<std::string>{"CONV_2D", "PRELU"}) ++conv_prelu;
    });
    // A smooth image-like input: values in [-1, 1].
    for (Interpreter* it : {fused->get(), separate->get()}) {
      const TensorView& in = it->input(0);
      float* x = in.as<float>();
      for (size_t i = 0; i < in.num_elements(); ++i) x[i] = static_cast<float>((i * 7919 % 2000) / 1000.0 - 1.0);
      ASSERT_TRUE(it->Invoke().ok());
    }
    EXPECT_GE(conv_add_prelu, 10);
    EXPECT_GE(conv_prelu, 1);
    ASSERT_EQ((*fused)->num_outputs(), (*separate)->num_outputs());
    for (size_t o = 0; o < (*fused)->num_outputs(); ++o) {
      const TensorView& a = (*fused)->output(o);
      const TensorView& b = (*separate)->output(o);
      ASSERT_EQ(a.num_bytes(), b.num_bytes());
      EXPECT_EQ(std::memcmp(a.data, b.data, a.num_bytes()), 0) << "output " << o;
    }
  }
}

TEST(InterpreterTest, BackendListChoosesWhereOpsRun) {
  const std::string path = edgepipe::testing::ModelPath("palm_detection_lite.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  auto xnnpack_only = Interpreter::Create(*model, {.backends = {"XNNPACK", "own-kernels"}});
  ASSERT_TRUE(xnnpack_only.ok()) << xnnpack_only.status();
  auto own_first = Interpreter::Create(*model, {.backends = {"own-conv-f32", "XNNPACK", "own-kernels"}});
  ASSERT_TRUE(own_first.ok()) << own_first.status();
  int convs = 0;
  for (const OpPlacement& p : (*xnnpack_only)->placements())
    if (p.op_name == "CONV_2D") {
      EXPECT_EQ(p.backend, "XNNPACK") << "operator " << p.op_index;
      ++convs;
    }
  EXPECT_GT(convs, 0);
  for (const OpPlacement& p : (*own_first)->placements()) {
    if (p.op_name != "CONV_2D" && p.op_name != "DEPTHWISE_CONV_2D") continue;
    EXPECT_EQ(p.backend, "own-conv-f32") << "operator " << p.op_index;
    EXPECT_FALSE(p.variant.empty()) << "operator " << p.op_index;
  }
}

TEST(InterpreterTest, UnknownOrRepeatedBackendIsAnError) {
  const std::string path = edgepipe::testing::ModelPath("face_detection_short_range.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  auto unknown = Interpreter::Create(*model, {.backends = {"XNNPACK", "tpu"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().ToString(), ::testing::HasSubstr("unknown backend 'tpu'"));
  EXPECT_THAT(unknown.status().ToString(), ::testing::HasSubstr("own-kernels"));
  auto twice = Interpreter::Create(*model, {.backends = {"XNNPACK", "XNNPACK"}});
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().ToString(), ::testing::HasSubstr("listed twice"));
  // Without own-kernels nobody runs face detection's CONCATENATION.
  auto missing = Interpreter::Create(*model, {.backends = {"XNNPACK"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().ToString(), ::testing::HasSubstr("no backend can run it"));
}

TEST(InterpreterTest, ReaderAcceptsExactlyWhatBackendsRegister) {
  const OpVersions& ops = RegisteredOpVersions();
  std::map<int32_t, int32_t> from_backends;
  for (const BackendFactory& f : BackendFactories()) {
    auto backend = f.make(BestIsa(HostCpu()));
    if (backend == nullptr) continue;
    for (const OpRegistration* r : backend->registered_ops())
      if (r->code != builtin::kCustom) from_backends[r->code] = std::max(from_backends[r->code], r->max_version);
  }
  for (const FoldedOp& op : OpsFoldedAtLoad()) from_backends[op.code] = std::max(from_backends[op.code], op.max_version);
  EXPECT_EQ(ops.builtin, from_backends);
  EXPECT_EQ(ops.builtin.count(builtin::kTanh), 0u) << "no backend runs TANH";
  EXPECT_EQ(ops.custom.count("TFLite_Detection_PostProcess"), 1u);
}

}  // namespace
}  // namespace edgepipe::engine
