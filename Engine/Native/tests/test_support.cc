#include "test_support.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace ekvtest {

namespace {

const uint8_t kTestKek[32] = {0x42, 0x13, 0x37, 0x99, 1,  2,  3,  4,  5,  6,  7,
                              8,    9,    10,   11,   12, 13, 14, 15, 16, 17, 18,
                              19,   20,   21,   22,   23, 24, 25, 26, 27, 28};
constexpr uint32_t kEnvelopeLen = 32 + 8;

void Check(const uint8_t* aad, uint32_t aad_len, const uint8_t* dek, uint8_t out[8]) {
  std::string buf(reinterpret_cast<const char*>(aad), aad_len);
  buf.append(reinterpret_cast<const char*>(dek), 32);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), digest);
  std::memcpy(out, digest, 8);
}

void SetMsg(char* msg, uint32_t cap, const char* text) {
  if (cap == 0) return;
  std::snprintf(msg, cap, "%s", text);
}

int32_t NewFileKey(void* ctx, const char* path, const uint8_t* aad, uint32_t aad_len,
                   uint8_t* dek_out, uint8_t* envelope_out, uint32_t envelope_cap,
                   uint32_t* envelope_len, char* msg, uint32_t msg_cap) {
  auto* keys = static_cast<TestKeys*>(ctx);
  keys->new_calls++;
  if (keys->unavailable) {
    SetMsg(msg, msg_cap, "test store is locked");
    return EKV_KEY_UNAVAILABLE;
  }
  const bool in_namespace = std::strstr(path, "/ns_1/") != nullptr;
  if (in_namespace && keys->hold_namespace_new) {
    keys->held_namespace_new++;
    while (keys->hold_namespace_new) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (in_namespace && keys->namespace_deleted) {
    SetMsg(msg, msg_cap, "test namespace was deleted");
    return EKV_NAMESPACE_DELETED;
  }
  if (aad_len != 40 || envelope_cap < kEnvelopeLen) return EKV_INVALID_ARGUMENT;
  if (RAND_bytes(dek_out, 32) != 1) return EKV_INTERNAL;
  for (int i = 0; i < 32; ++i) envelope_out[i] = dek_out[i] ^ kTestKek[i];
  Check(aad, aad_len, dek_out, envelope_out + 32);
  *envelope_len = kEnvelopeLen;
  return EKV_OK;
}

int32_t OpenFileKey(void* ctx, const char* /*path*/, const uint8_t* aad, uint32_t aad_len,
                    const uint8_t* envelope, uint32_t envelope_len, uint8_t* dek_out, char* msg,
                    uint32_t msg_cap) {
  auto* keys = static_cast<TestKeys*>(ctx);
  keys->open_calls++;
  if (keys->unavailable) {
    SetMsg(msg, msg_cap, "test store is locked");
    return EKV_KEY_UNAVAILABLE;
  }
  if (envelope_len != kEnvelopeLen) {
    SetMsg(msg, msg_cap, "bad envelope length");
    return EKV_INTEGRITY;
  }
  for (int i = 0; i < 32; ++i) dek_out[i] = envelope[i] ^ kTestKek[i];
  uint8_t expect[8];
  Check(aad, aad_len, dek_out, expect);
  if (std::memcmp(expect, envelope + 32, 8) != 0) {
    std::memset(dek_out, 0, 32);
    SetMsg(msg, msg_cap, "envelope does not authenticate the header");
    return EKV_INTEGRITY;
  }
  return EKV_OK;
}

int32_t RewrapFileKey(void* ctx, const char* path, const uint8_t* old_aad, uint32_t old_aad_len,
                      const uint8_t* old_envelope, uint32_t old_envelope_len,
                      const uint8_t* new_aad, uint32_t new_aad_len, uint8_t* new_envelope_out,
                      uint32_t new_envelope_cap, uint32_t* new_envelope_len, char* msg,
                      uint32_t msg_cap) {
  auto* keys = static_cast<TestKeys*>(ctx);
  keys->rewrap_calls++;
  if (keys->rewrap_refuses) {
    SetMsg(msg, msg_cap, "old KEK version retired");
    return EKV_KEY_UNAVAILABLE;
  }
  uint8_t dek[32];
  int32_t rc = OpenFileKey(ctx, path, old_aad, old_aad_len, old_envelope, old_envelope_len, dek,
                           msg, msg_cap);
  keys->open_calls--;
  if (rc != EKV_OK) return rc;
  if (new_aad_len != 40 || new_envelope_cap < kEnvelopeLen) return EKV_INVALID_ARGUMENT;
  if (keys->rewrap_wrong_dek) dek[0] ^= 1;
  for (int i = 0; i < 32; ++i) new_envelope_out[i] = dek[i] ^ kTestKek[i];
  Check(new_aad, new_aad_len, dek, new_envelope_out + 32);
  std::memset(dek, 0, sizeof(dek));
  *new_envelope_len = kEnvelopeLen;
  return EKV_OK;
}

}  // namespace

ekv_callbacks MakeCallbacks(TestKeys* keys) {
  ekv_callbacks cb;
  cb.ctx = keys;
  cb.new_file_key = &NewFileKey;
  cb.open_file_key = &OpenFileKey;
  cb.rewrap_file_key = &RewrapFileKey;
  return cb;
}

ekv_env* CreateEnv(TestKeys* keys, uint32_t frame_size, bool mem) {
  ekv_callbacks cb = MakeCallbacks(keys);
  ekv_env_options opts{frame_size, mem ? 1u : 0u};
  ekv_env* env = nullptr;
  char msg[256];
  int32_t rc = ekv_env_create(&cb, &opts, &env, msg, sizeof(msg));
  EXPECT_EQ(rc, EKV_OK) << msg;
  return env;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "ekvfs-test-XXXXXX").string();
  char* p = mkdtemp(&tmpl[0]);
  if (p == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c ^= 0x5a;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

uint64_t RawSize(const std::string& path) { return fs::file_size(path); }

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const std::string& f : ListFiles(dir)) {
    if (ReadRaw(f).find(needle) != std::string::npos) out.push_back(f);
  }
  return out;
}

}  // namespace ekvtest
