// `edgepipe infer` with raw tensors in and out (--input-raw, --output-raw): the
// bytes it writes are what the engine computes in-process on the same inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/interpreter.h"
#include "engine/model.h"
#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::ModelPath;
using ::testing::HasSubstr;

std::filesystem::path TestDir() { return PerTestDir("edgepipe_infer"); }

void WriteBytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// traffic_model has three inputs (an image and two LSTM states): the files must
// reach them in order.
TEST(InferCliTest, RawInputsInOrderGiveTheEnginesOutputBytes) {
  const std::string model_path = ModelPath("traffic_model.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(model_path);
  auto model = engine::Model::Load(model_path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto interpreter = engine::Interpreter::Create(*model, {.num_threads = 1});
  ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  ASSERT_EQ((*interpreter)->num_inputs(), 3u);

  const auto dir = TestDir();
  std::mt19937 rng(7);
  std::vector<std::string> args = {"infer", model_path, "--json", "--output-raw", (dir / "out").string(),
                                   "--input-raw"};
  for (size_t i = 0; i < (*interpreter)->num_inputs(); ++i) {
    engine::TensorView& input = (*interpreter)->input(i);
    std::vector<uint8_t> bytes(input.num_bytes());
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    std::memcpy(input.data, bytes.data(), bytes.size());
    const auto file = dir / fmt::format("input_{}.bin", i);
    WriteBytes(file, bytes);
    args.push_back(file.string());
  }
  ASSERT_TRUE((*interpreter)->Invoke().ok());

  CliResult result = RunCli(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json j = nlohmann::json::parse(result.out);
  ASSERT_EQ(j["outputs"].size(), (*interpreter)->num_outputs());
  for (size_t i = 0; i < (*interpreter)->num_outputs(); ++i) {
    const engine::TensorView& expected = (*interpreter)->output(i);
    const std::string file = j["outputs"][i]["raw_file"];
    EXPECT_EQ(file, (dir / "out" / fmt::format("output_{}.bin", i)).string());
    const std::vector<uint8_t> bytes = ReadBytes(file);
    ASSERT_EQ(bytes.size(), expected.num_bytes()) << "output " << i;
    EXPECT_EQ(std::memcmp(bytes.data(), expected.data, bytes.size()), 0) << "output " << i << " differs";
  }
}

TEST(InferCliTest, RawInputOfTheWrongSizeNamesTheInputAndItsSize) {
  const std::string model_path = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(model_path);
  const auto file = TestDir() / "short.bin";
  WriteBytes(file, std::vector<uint8_t>(100));
  CliResult result = RunCli({"infer", model_path, "--input-raw", file.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("has 100 bytes; input 'input' (uint8[1,128,128,3]) needs 49152"));
}

TEST(InferCliTest, OneRawFilePerInput) {
  const std::string model_path = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(model_path);
  const auto file = TestDir() / "input.bin";
  WriteBytes(file, std::vector<uint8_t>(128 * 128 * 3));
  CliResult result = RunCli({"infer", model_path, "--input-raw", file.string(), file.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("has 1 inputs but 2 --input-raw files were given"));
}

TEST(InferCliTest, NeedsAnImageOrRawInputsButNotBoth) {
  const std::string model_path = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(model_path);
  CliResult none = RunCli({"infer", model_path});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("infer needs --input IMAGE or --input-raw FILE"));
  CliResult both = RunCli({"infer", model_path, "--input", "a.jpg", "--input-raw", "a.bin"});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_THAT(both.err, HasSubstr("--input excludes --input-raw"));
}

}  // namespace
}  // namespace edgepipe
