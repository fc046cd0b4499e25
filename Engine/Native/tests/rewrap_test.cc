// Header re-wrap: new envelope in the other slot, generation + 1, frames untouched, crash-safe.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "env_handle.h"
#include "test_support.h"

using namespace ekvtest;

namespace {

class RewrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = CreateEnv(&keys_, 512);
    path_ = tmp_.path() + "/000012.sst";
    data_ = std::string(3000, 'q') + "tail";
    char msg[256];
    ASSERT_EQ(ekv_file_write(env_, path_.c_str(), reinterpret_cast<const uint8_t*>(data_.data()),
                             data_.size(), msg, sizeof(msg)),
              EKV_OK)
        << msg;
  }
  void TearDown() override { ekv_env_destroy(env_); }

  void ExpectReadable(const std::string& what) {
    uint64_t size = 0;
    char msg[256];
    ASSERT_EQ(ekv_file_verify(env_, path_.c_str(), &size, msg, sizeof(msg)), EKV_OK)
        << what << ": " << msg;
    std::string back(size, '\0');
    uint64_t got = 0;
    ASSERT_EQ(ekv_file_read(env_, path_.c_str(), 0, reinterpret_cast<uint8_t*>(&back[0]), size,
                            &got, msg, sizeof(msg)),
              EKV_OK);
    EXPECT_EQ(back, data_) << what;
  }
  ekv_header_info Info() {
    ekv_header_info info;
    char msg[256];
    EXPECT_EQ(ekv_file_header_info(env_, path_.c_str(), &info, msg, sizeof(msg)), EKV_OK) << msg;
    return info;
  }

  TestKeys keys_;
  TempDir tmp_;
  ekv_env* env_ = nullptr;
  std::string path_, data_;
};

TEST_F(RewrapTest, AlternatesSlotsAndKeepsFrames) {
  const std::string before = ReadRaw(path_);
  ekv_header_info info = Info();
  EXPECT_EQ(info.generation, 1u);
  EXPECT_EQ(info.active_slot, 0u);
  EXPECT_EQ(info.format_version, 4u);  // an SST: format v4 (docs/format.md)
  EXPECT_EQ(info.frame_size, 512u);
  EXPECT_EQ(info.logical_size, data_.size());
  EXPECT_EQ(info.envelope_len, 40u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(info.file_id), 16), before.substr(16, 16));
  char msg[256];
  for (uint64_t expect = 2; expect <= 4; ++expect) {
    uint64_t gen = 0;
    ASSERT_EQ(ekv_file_rewrap(env_, path_.c_str(), &gen, msg, sizeof(msg)), EKV_OK) << msg;
    EXPECT_EQ(gen, expect);
    info = Info();
    EXPECT_EQ(info.generation, expect);
    EXPECT_EQ(info.active_slot, (expect - 1) % 2);
    ExpectReadable("generation " + std::to_string(expect));
  }
  const std::string after = ReadRaw(path_);
  EXPECT_EQ(after.substr(1024), before.substr(1024)) << "frames must not change";
  EXPECT_EQ(keys_.rewrap_calls.load(), 3);
}

TEST_F(RewrapTest, EveryTornSlotWriteLeavesAReadableFile) {
  const std::string before = ReadRaw(path_);
  char msg[256];
  ASSERT_EQ(ekv_file_rewrap(env_, path_.c_str(), nullptr, msg, sizeof(msg)), EKV_OK) << msg;
  const std::string after = ReadRaw(path_);
  ASSERT_EQ(before.substr(0, 512), after.substr(0, 512));
  for (size_t cut = 512; cut <= 1024; cut += 8) {
    std::string torn = after.substr(0, cut) + before.substr(cut);
    WriteRaw(path_, torn);
    ExpectReadable("slot B cut at " + std::to_string(cut));
    const uint64_t gen = Info().generation;
    EXPECT_EQ(gen, cut == 1024 ? 2u : 1u) << cut;
  }
}

TEST_F(RewrapTest, FailuresLeaveTheHeaderAlone) {
  const std::string before = ReadRaw(path_);
  char msg[256];
  keys_.rewrap_refuses = true;
  EXPECT_EQ(ekv_file_rewrap(env_, path_.c_str(), nullptr, msg, sizeof(msg)), EKV_KEY_UNAVAILABLE);
  EXPECT_NE(std::string(msg).find("old KEK version retired"), std::string::npos) << msg;
  keys_.rewrap_refuses = false;
  keys_.rewrap_wrong_dek = true;
  EXPECT_EQ(ekv_file_rewrap(env_, path_.c_str(), nullptr, msg, sizeof(msg)), EKV_INTERNAL);
  EXPECT_NE(std::string(msg).find("different DEK"), std::string::npos) << msg;
  keys_.rewrap_wrong_dek = false;
  EXPECT_EQ(ReadRaw(path_), before);
  // A header that does not authenticate is never re-wrapped.
  std::string raw = before;
  raw[48 + 3] ^= 1;  // an envelope byte, with a recomputed slot checksum: only the unwrap can tell
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(raw.data()), 504, digest);
  raw.replace(504, 8, reinterpret_cast<const char*>(digest), 8);
  WriteRaw(path_, raw);
  EXPECT_EQ(ekv_file_rewrap(env_, path_.c_str(), nullptr, msg, sizeof(msg)), EKV_INTEGRITY) << msg;
  EXPECT_NE(std::string(msg).find("envelope does not authenticate"), std::string::npos) << msg;
  EXPECT_EQ(ReadRaw(path_), raw);
  EXPECT_EQ(ekv_file_rewrap(env_, (path_ + ".missing").c_str(), nullptr, msg, sizeof(msg)),
            EKV_NOT_FOUND)
      << msg;
  WriteRaw(tmp_.path() + "/LOCK", "");
  EXPECT_EQ(ekv_file_rewrap(env_, (tmp_.path() + "/LOCK").c_str(), nullptr, msg, sizeof(msg)),
            EKV_INVALID_ARGUMENT)
      << msg;
}

TEST_F(RewrapTest, WithoutCallbackIsAnInternalError) {
  ekv_callbacks cb = MakeCallbacks(&keys_);
  cb.rewrap_file_key = nullptr;
  ekv_env_options opts{512, 0};
  ekv_env* env = nullptr;
  char msg[256];
  ASSERT_EQ(ekv_env_create(&cb, &opts, &env, msg, sizeof(msg)), EKV_OK);
  EXPECT_EQ(ekv_file_rewrap(env, path_.c_str(), nullptr, msg, sizeof(msg)), EKV_INTERNAL);
  EXPECT_NE(std::string(msg).find("no rewrap_file_key callback"), std::string::npos) << msg;
  ekv_env_destroy(env);
}

}  // namespace
