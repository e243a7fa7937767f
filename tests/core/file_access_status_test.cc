// Paths checked before a library that gives no reason is handed them (the
// error says what the OS said), and error messages that stay readable when
// they quote a huge value (the middle is elided).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "core/file_access.h"
#include "core/status.h"

namespace edgepipe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FileAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("edgepipe_file_access_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / "kept.txt").string();
    std::ofstream(file_) << "contents";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Contents() {
    std::ifstream in(file_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::path dir_;
  std::string file_;
};

TEST_F(FileAccessTest, ReadableNamesWhatPathAndReason) {
  EXPECT_TRUE(CheckReadableFile(file_, "labels file").ok());
  Status missing = CheckReadableFile((dir_ / "absent").string(), "labels file");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("cannot read labels file"));
  EXPECT_THAT(missing.message(), HasSubstr("No such file or directory"));
  EXPECT_THAT(CheckReadableFile(dir_.string(), "graph config").message(), HasSubstr("it is a directory"));
}

TEST_F(FileAccessTest, WritableChangesNothing) {
  EXPECT_TRUE(CheckWritableFile(file_, "video").ok());
  EXPECT_EQ(Contents(), "contents");  // not truncated
  const std::string fresh = (dir_ / "new.avi").string();
  EXPECT_TRUE(CheckWritableFile(fresh, "video").ok());
  EXPECT_FALSE(std::filesystem::exists(fresh));  // the probe file is removed
}

TEST_F(FileAccessTest, WritableSaysWhatTheOsSaid) {
  EXPECT_THAT(CheckWritableFile(dir_.string(), "video").message(), HasSubstr("it is a directory"));
  EXPECT_THAT(CheckWritableFile(file_ + "/out.avi", "video").message(), HasSubstr("Not a directory"));
  EXPECT_THAT(CheckWritableFile((dir_ / "no" / "out.avi").string(), "video").message(),
              HasSubstr("No such file or directory"));
  EXPECT_THAT(CheckWritableFile("", "video").message(), HasSubstr("empty"));
}

TEST_F(FileAccessTest, SameFileFollowsLinks) {
  const auto link = dir_ / "link.txt";
  std::filesystem::create_symlink(file_, link);
  const auto hard = dir_ / "hard.txt";
  std::filesystem::create_hard_link(file_, hard);
  EXPECT_TRUE(SameFile(file_, link.string()));
  EXPECT_TRUE(SameFile(file_, hard.string()));
  EXPECT_TRUE(SameFile(file_, (dir_ / "." / "kept.txt").string()));
  std::ofstream(dir_ / "other.txt") << "contents";
  EXPECT_FALSE(SameFile(file_, (dir_ / "other.txt").string()));
  EXPECT_FALSE(SameFile(file_, (dir_ / "absent").string()));
}

TEST(StatusMessageTest, HugeValueIsElidedKeepingBothEnds) {
  const std::string value(10'000'000, 'X');
  Status status = InvalidArgumentError("fourcc '{}' must have exactly 4 characters", value);
  EXPECT_LE(status.message().size(), Status::kMaxMessageBytes + 64);
  EXPECT_THAT(status.message(), HasSubstr("fourcc 'XXX"));
  EXPECT_THAT(status.message(), HasSubstr("XXX' must have exactly 4 characters"));
  EXPECT_THAT(status.message(), HasSubstr("bytes elided"));
  Status context = status.WithContext("node \"writer\"");
  EXPECT_THAT(context.message(), HasSubstr("node \"writer\": fourcc"));
  EXPECT_LE(context.message().size(), Status::kMaxMessageBytes + 64);
}

TEST(StatusMessageTest, ShortMessagesAndUtf8AreKept) {
  EXPECT_EQ(InvalidArgumentError("x {}", 1).message(), "x 1");
  std::string accents;
  for (int i = 0; i < 5000; ++i) accents += "é";  // 2 bytes each: cuts must not split one
  const std::string message = InvalidArgumentError("{}", accents).message();
  EXPECT_THAT(message, Not(HasSubstr("\xc3 ")));
  EXPECT_THAT(message, Not(HasSubstr(" \xa9")));
  EXPECT_EQ(message.substr(0, 4), "éé");
  EXPECT_EQ(message.substr(message.size() - 4), "éé");
}

}  // namespace
}  // namespace edgepipe
