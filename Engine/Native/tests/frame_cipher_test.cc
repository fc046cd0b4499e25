// FrameCipher: round trips and the nonce batches (unique per seal, discarded across fork).
#include "frame_cipher.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ekv {
namespace {

std::unique_ptr<FrameCipher> NewCipher() {
  SecretKey key;
  for (size_t i = 0; i < kDekSize; ++i) key.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  uint8_t file_id[kFileIdSize] = {1, 2, 3};
  return std::make_unique<FrameCipher>(key, file_id, std::make_shared<Stats>());
}

std::string SealNonce(FrameCipher* c, uint64_t index) {
  const uint8_t plain[3] = {'a', 'b', 'c'};
  uint8_t out[3 + kFrameOverhead];
  std::string err;
  EXPECT_TRUE(c->Seal(index, false, 0, plain, sizeof(plain), out, &err)) << err;
  return std::string(reinterpret_cast<char*>(out + kFrameHeaderSize), kNonceSize);
}

TEST(FrameCipherTest, NoncesAreUniqueAcrossBatchesAndThreads) {
  auto c = NewCipher();
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(SealNonce(c.get(), i)).second);
  std::vector<std::string> other(1000);
  std::thread t([&] {
    for (int i = 0; i < 1000; ++i) other[i] = SealNonce(c.get(), i);
  });
  t.join();
  for (const std::string& n : other) EXPECT_TRUE(seen.insert(n).second);
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(FrameCipherTest, AForkedChildNeverReusesTheParentsBatchedNonces) {
  auto c = NewCipher();
  SealNonce(c.get(), 0);  // the batch of this thread now holds 63 unused nonces
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string n = SealNonce(c.get(), 1);
    ssize_t w = write(fds[1], n.data(), n.size());
    _exit(w == static_cast<ssize_t>(n.size()) ? 0 : 1);
  }
  const std::string parent = SealNonce(c.get(), 1);
  char buf[kNonceSize];
  ASSERT_EQ(read(fds[0], buf, sizeof(buf)), static_cast<ssize_t>(sizeof(buf)));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(parent, std::string(buf, sizeof(buf))) << "child reused the parent's next nonce";
}

TEST(FrameCipherTest, SealedFramesOpenAndTamperingFails) {
  auto c = NewCipher();
  const std::string plain = "the quick brown fox";
  std::vector<uint8_t> frame(plain.size() + kFrameOverhead);
  std::string err;
  ASSERT_TRUE(c->Seal(5, false, 2, reinterpret_cast<const uint8_t*>(plain.data()), plain.size(),
                      frame.data(), &err));
  std::string back(plain.size(), '\0');
  uint32_t distance = 0;
  ASSERT_EQ(c->Open(5, false, frame.data(), frame.size(), reinterpret_cast<uint8_t*>(&back[0]),
                    &err, &distance),
            FrameCipher::OpenResult::kOk);
  EXPECT_EQ(back, plain);
  EXPECT_EQ(distance, 2u);
  EXPECT_EQ(c->Open(6, false, frame.data(), frame.size(), reinterpret_cast<uint8_t*>(&back[0]),
                    &err),
            FrameCipher::OpenResult::kAuthFailed);  // wrong index
  frame[kFrameHeaderSize + kNonceSize + 3] ^= 1;
  EXPECT_EQ(c->Open(5, false, frame.data(), frame.size(), reinterpret_cast<uint8_t*>(&back[0]),
                    &err),
            FrameCipher::OpenResult::kAuthFailed);
}

}  // namespace
}  // namespace ekv
