#include "tools/cancel_on_interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace edgepipe::tools {

namespace {
// The handler may only make async-signal-safe calls: it writes one byte to
// the pipe the watcher thread reads; the watcher calls Graph::Cancel().
int g_signal_pipe = -1;
struct sigaction g_previous_action {};
constexpr char kInterrupt = 'i';
constexpr char kQuit = 'q';

void OnSigint(int) {
  const int saved_errno = errno;
  if (g_signal_pipe >= 0) (void)!write(g_signal_pipe, &kInterrupt, 1);
  errno = saved_errno;
}
}  // namespace

CancelOnInterrupt::CancelOnInterrupt(Graph* graph) : graph_(graph) {
  if (g_signal_pipe >= 0 || pipe2(pipe_, O_CLOEXEC) != 0) return;  // one at a time; no pipe: default Ctrl-C
  try {
    watcher_ = std::thread([this] { Watch(); });
  } catch (const std::system_error&) {
    close(pipe_[0]);
    close(pipe_[1]);
    pipe_[0] = pipe_[1] = -1;
    return;
  }
  g_signal_pipe = pipe_[1];
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C takes the default action: the user insists
  installed_ = sigaction(SIGINT, &action, &g_previous_action) == 0;
}

CancelOnInterrupt::~CancelOnInterrupt() {
  if (installed_) sigaction(SIGINT, &g_previous_action, nullptr);
  if (watcher_.joinable()) {
    (void)!write(pipe_[1], &kQuit, 1);
    watcher_.join();
  }
  if (pipe_[0] >= 0) {
    g_signal_pipe = -1;
    close(pipe_[0]);
    close(pipe_[1]);
  }
}

void CancelOnInterrupt::Watch() {
  char byte = 0;
  while (true) {
    const ssize_t n = read(pipe_[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == kQuit) return;
    if (byte == kInterrupt && !interrupted_.exchange(true)) graph_->Cancel();
  }
}

}  // namespace edgepipe::tools
