// kiln_conformance: runs ONNX backend node-test cases (as written by
// tests/conformance/export_node_tests.py) on Kiln's CPU reference or, with
// --device cuda, on CUDA engines built from them, and writes one JSON line
// per case. Cases run in child processes, so a case
// that crashes, hangs or eats memory is recorded as a Kiln bug and the suite
// still finishes. A child runs a batch of cases (one on the CPU); when it
// dies, the case it was running is recorded and the rest of the batch is
// rerun in a fresh child.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "base/status.h"
#include "execution_device.h"
#include "run_case.h"

namespace fs = std::filesystem;
using kiln::conformance::CaseDevice;
using kiln::conformance::CaseResult;
using kiln::conformance::CaseSpec;
using Clock = std::chrono::steady_clock;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr long kDefaultMemLimitMb = 0;  // ASan reserves terabytes of address space
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr long kDefaultMemLimitMb = 0;
#else
constexpr long kDefaultMemLimitMb = 4096;
#endif
#else
constexpr long kDefaultMemLimitMb = 4096;
#endif

// Starts the child's result line, so stray output of the case (a failed
// assertion, a sanitizer report) can be told apart from it.
constexpr const char* kResultTag = "\x1eKILN_RESULT ";
constexpr size_t kKeepOutput = 64 * 1024;
// A child's exit status asking for the rest of its batch to run elsewhere.
constexpr int kRestExit = 3;

struct Options {
  std::string cases_dir;
  std::string out_path;
  std::string filter;
  int jobs = 1;
  double timeout_s = 60;
  long mem_limit_mb = -1;  // -1: the device's default
  int batch = 0;           // cases per child process; 0: the device's default
  CaseDevice device = CaseDevice::kCpu;
  bool fork = true;
  bool quiet = false;
};

void usage() {
  std::fprintf(stderr,
               "usage: kiln_conformance CASES_DIR [options]\n"
               "  CASES_DIR         directory of cases (with cases.tsv), or one case directory\n"
               "  --out FILE        JSON lines output (default: stdout)\n"
               "  --filter REGEX    only cases whose name matches (search)\n"
               "  --jobs N          cases run at once (default 1)\n"
               "  --timeout SEC     per-case wall-clock limit (default 60)\n"
               "  --device cpu|cuda the CPU reference (default) or a CUDA engine per case\n"
               "  --mem-limit-mb N  per-case address-space limit, 0 for none (default %ld on the CPU,\n"
               "                    none on CUDA, whose driver reserves far more address space)\n"
               "  --batch N         cases per child process (default 1 on the CPU; 32 on CUDA, where\n"
               "                    starting CUDA in a process costs more than most cases)\n"
               "  --no-fork         run in this process (debugging; no crash or time guard)\n"
               "  --quiet           no progress on stderr\n",
               kDefaultMemLimitMb);
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--out" && (v = value())) {
      o.out_path = v;
    } else if (a == "--filter" && (v = value())) {
      o.filter = v;
    } else if (a == "--jobs" && (v = value())) {
      o.jobs = std::max(1, std::atoi(v));
    } else if (a == "--timeout" && (v = value())) {
      o.timeout_s = std::atof(v);
    } else if (a == "--mem-limit-mb" && (v = value())) {
      o.mem_limit_mb = std::atol(v);
    } else if (a == "--device" && (v = value())) {
      if (std::strcmp(v, "cpu") != 0 && std::strcmp(v, "cuda") != 0) {
        std::fprintf(stderr, "kiln_conformance: --device is cpu or cuda, not '%s'\n", v);
        return false;
      }
      o.device = std::strcmp(v, "cuda") == 0 ? CaseDevice::kCuda : CaseDevice::kCpu;
    } else if (a == "--batch" && (v = value())) {
      o.batch = std::max(1, std::atoi(v));
    } else if (a == "--no-fork") {
      o.fork = false;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "-h" || a == "--help") {
      return false;
    } else if (!a.empty() && a[0] != '-' && o.cases_dir.empty()) {
      o.cases_dir = a;
    } else {
      std::fprintf(stderr, "kiln_conformance: bad argument '%s'\n", a.c_str());
      return false;
    }
  }
  if (o.mem_limit_mb < 0) o.mem_limit_mb = o.device == CaseDevice::kCuda ? 0 : kDefaultMemLimitMb;
  if (o.batch <= 0) o.batch = o.device == CaseDevice::kCuda ? 32 : 1;
  return !o.cases_dir.empty();
}

// cases.tsv (name, rtol, atol) when the exporter wrote one; otherwise every
// subdirectory holding a model.onnx, with onnx's default tolerances.
bool list_cases(const Options& o, std::vector<CaseSpec>& cases) {
  fs::path root(o.cases_dir);
  std::error_code ec;
  if (fs::exists(root / "model.onnx", ec)) {
    cases.push_back({root.filename().string(), root.string()});
    return true;
  }
  std::ifstream tsv(root / "cases.tsv");
  if (tsv) {
    std::string line;
    while (std::getline(tsv, line)) {
      if (line.empty()) continue;
      size_t t1 = line.find('\t'), t2 = line.find('\t', t1 == std::string::npos ? t1 : t1 + 1);
      CaseSpec c;
      c.name = line.substr(0, t1);
      if (t1 != std::string::npos && t2 != std::string::npos) {
        c.rtol = std::atof(line.substr(t1 + 1, t2 - t1 - 1).c_str());
        c.atol = std::atof(line.substr(t2 + 1).c_str());
      }
      c.dir = (root / c.name).string();
      cases.push_back(c);
    }
    return true;
  }
  if (!fs::is_directory(root, ec)) return false;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (fs::exists(e.path() / "model.onnx")) cases.push_back({e.path().filename().string(), e.path().string()});
  std::sort(cases.begin(), cases.end(), [](const CaseSpec& a, const CaseSpec& b) { return a.name < b.name; });
  return true;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// A child process runs a batch of cases in order and reports each on its
// own tagged line; `done` counts the lines read so far, so a crash or a
// timeout is charged to batch[done] and the rest of the batch is rerun.
struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::vector<size_t> batch;
  size_t done = 0;
  Clock::time_point case_start;  // when batch[done] started
  std::string output;            // read since the last result line
  bool timed_out = false;
};

std::string tail_of(const std::string& s, size_t n) {
  std::string t = s.size() > n ? s.substr(s.size() - n) : s;
  for (char& c : t)
    if (c == '\n' || c == '\r') c = ' ';
  return t;
}

class Driver {
 public:
  Driver(const Options& o, std::vector<CaseSpec> cases, std::ostream& out)
      : o_(o), cases_(std::move(cases)), out_(out) {}

  void run() {
    if (!o_.fork) {
      for (const auto& c : cases_) emit(c, kiln::conformance::run_case(c, o_.device));
      return;
    }
    for (size_t i = 0; i < cases_.size(); ++i) pending_.push_back(i);
    while (!pending_.empty() || !children_.empty()) {
      while (!pending_.empty() && children_.size() < static_cast<size_t>(o_.jobs)) spawn(take_batch());
      wait_some();
    }
  }

  int count(const std::string& status) const { return counts_.count(status) ? counts_.at(status) : 0; }

 private:
  void emit(const CaseSpec& spec, const CaseResult& r) { emit_line(r.status, kiln::conformance::to_json(spec, r)); }

  void emit_line(const std::string& status, const std::string& json) {
    out_ << json << '\n';
    out_.flush();
    ++counts_[status];
    ++done_;
    if (!o_.quiet && (done_ % 200 == 0 || done_ == cases_.size()))
      std::fprintf(stderr, "kiln_conformance: %zu/%zu cases\n", done_, cases_.size());
  }

  // Batches shrink towards the end so the last children finish together.
  std::vector<size_t> take_batch() {
    size_t fair = (pending_.size() + static_cast<size_t>(o_.jobs) - 1) / static_cast<size_t>(o_.jobs);
    size_t n = std::max<size_t>(1, std::min(static_cast<size_t>(o_.batch), fair));
    std::vector<size_t> batch(pending_.begin(), pending_.begin() + static_cast<long>(n));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(n));
    return batch;
  }

  void spawn(std::vector<size_t> batch) {
    int fds[2];
    if (::pipe(fds) != 0) {
      for (size_t index : batch) {
        CaseResult r{"fail", "crash", std::string("pipe failed: ") + std::strerror(errno), {}, {}, -1, 0};
        emit(cases_[index], r);
      }
      return;
    }
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      if (o_.mem_limit_mb > 0) {
        rlim_t bytes = static_cast<rlim_t>(o_.mem_limit_mb) << 20;
        struct rlimit lim = {bytes, bytes};
        ::setrlimit(RLIMIT_AS, &lim);
      }
      for (size_t index : batch) {
        CaseResult r = kiln::conformance::run_case(cases_[index], o_.device);
        write_all(fds[1], std::string(kResultTag) + r.status + " " + kiln::conformance::to_json(cases_[index], r) + "\n");
        // A failed case may leave the CUDA context broken (a sticky error):
        // the rest of the batch runs in a fresh process.
        if (o_.device == CaseDevice::kCuda && r.status == "fail" && index != batch.back()) ::_exit(kRestExit);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      for (size_t index : batch) {
        CaseResult r{"fail", "crash", std::string("fork failed: ") + std::strerror(errno), {}, {}, -1, 0};
        emit(cases_[index], r);
      }
      return;
    }
    Child c;
    c.pid = pid;
    c.fd = fds[0];
    c.batch = std::move(batch);
    c.case_start = Clock::now();
    children_.push_back(std::move(c));
  }

  // Emits every complete result line in the child's output.
  void take_results(Child& c) {
    size_t tag;
    while (c.done < c.batch.size() && (tag = c.output.find(kResultTag)) != std::string::npos) {
      size_t nl = c.output.find('\n', tag);
      if (nl == std::string::npos) return;
      std::string line = c.output.substr(tag + std::strlen(kResultTag), nl - tag - std::strlen(kResultTag));
      c.output.erase(0, nl + 1);
      size_t sp = line.find(' ');
      if (sp == std::string::npos) continue;
      emit_line(line.substr(0, sp), line.substr(sp + 1));
      ++c.done;
      c.case_start = Clock::now();
    }
  }

  void wait_some() {
    std::vector<pollfd> pfds;
    for (const auto& c : children_) pfds.push_back({c.fd, POLLIN, 0});
    int n = ::poll(pfds.data(), pfds.size(), 100);
    if (n < 0 && errno != EINTR) std::perror("kiln_conformance: poll");
    std::vector<size_t> finished;
    for (size_t i = 0; i < children_.size(); ++i) {
      Child& c = children_[i];
      if (n > 0 && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[8192];
        ssize_t got = ::read(c.fd, buf, sizeof buf);
        if (got > 0) {
          c.output.append(buf, static_cast<size_t>(got));
          take_results(c);
          // Keep the tail of a case's stray output: the part before a crash says most.
          if (c.output.size() > 2 * kKeepOutput && c.output.find(kResultTag) == std::string::npos)
            c.output.erase(0, c.output.size() - kKeepOutput);
        } else if (got == 0 || errno != EINTR) {
          finished.push_back(i);
          continue;
        }
      }
      double elapsed = std::chrono::duration<double>(Clock::now() - c.case_start).count();
      if (!c.timed_out && o_.timeout_s > 0 && elapsed > o_.timeout_s) {
        c.timed_out = true;
        ::kill(c.pid, SIGKILL);  // the pipe then closes and the child is reaped above
      }
    }
    for (auto it = finished.rbegin(); it != finished.rend(); ++it) {
      finish(children_[*it]);
      children_.erase(children_.begin() + static_cast<long>(*it));
    }
  }

  void finish(Child& c) {
    ::close(c.fd);
    int st = 0;
    while (::waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
    }
    take_results(c);
    if (c.done >= c.batch.size()) return;
    if (!c.timed_out && WIFEXITED(st) && WEXITSTATUS(st) == kRestExit) {
      pending_.insert(pending_.begin(), c.batch.begin() + static_cast<long>(c.done), c.batch.end());
      return;
    }
    // The child died (or was killed) during batch[done]; the cases after it
    // go back to the queue, to run in a fresh child.
    double elapsed = std::chrono::duration<double>(Clock::now() - c.case_start).count();
    CaseResult r;
    r.status = "fail";
    r.seconds = elapsed;
    if (c.timed_out) {
      r.category = "timeout";
      r.reason = kiln::str("exceeded the per-case limit of ", o_.timeout_s, " s");
    } else if (WIFSIGNALED(st)) {
      r.category = "crash";
      r.reason = kiln::str("killed by signal ", WTERMSIG(st), " (", strsignal(WTERMSIG(st)), ")");
    } else {
      r.category = "crash";
      r.reason = kiln::str("exited with status ", WIFEXITED(st) ? WEXITSTATUS(st) : -1, " before reporting");
    }
    if (!c.output.empty()) r.reason += "; output: " + tail_of(c.output, 600);
    emit(cases_[c.batch[c.done]], r);
    pending_.insert(pending_.begin(), c.batch.begin() + static_cast<long>(c.done) + 1, c.batch.end());
  }

  const Options& o_;
  std::vector<CaseSpec> cases_;
  std::ostream& out_;
  std::vector<size_t> pending_;
  std::vector<Child> children_;
  std::map<std::string, int> counts_;
  size_t done_ = 0;
};

// Whether CUDA engines can run here, asked in a child process: CUDA must not
// be initialized in this process, which forks the children that run cases.
bool cuda_available() {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    kiln::Status st = kiln::cli::check_device_available(kiln::cli::ExecutionDevice::kCuda);
    write_all(fds[1], st.ok() ? "" : st.message());
    ::_exit(st.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string why;
  char buf[1024];
  ssize_t got;
  while (pid > 0 && ((got = ::read(fds[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)))
    if (got > 0) why.append(buf, static_cast<size_t>(got));
  ::close(fds[0]);
  int st = 0;
  if (pid < 0 || ::waitpid(pid, &st, 0) < 0) why = "could not start a process to look for a GPU";
  bool ok = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (!ok) std::fprintf(stderr, "kiln_conformance: --device cuda: %s\n", why.empty() ? "no usable GPU" : why.c_str());
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, o)) {
    usage();
    return 2;
  }
  if (o.device == CaseDevice::kCuda && !cuda_available()) return 1;
  std::vector<CaseSpec> cases;
  if (!list_cases(o, cases)) {
    std::fprintf(stderr, "kiln_conformance: '%s' is not a case directory\n", o.cases_dir.c_str());
    return 2;
  }
  if (!o.filter.empty()) {
    std::regex re;
    try {
      re = std::regex(o.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      std::fprintf(stderr, "kiln_conformance: bad --filter '%s': %s\n", o.filter.c_str(), e.what());
      return 2;
    }
    std::erase_if(cases, [&](const CaseSpec& c) { return !std::regex_search(c.name, re); });
  }

  std::ofstream file;
  if (!o.out_path.empty()) {
    file.open(o.out_path, std::ios::trunc);
    if (!file) {
      std::fprintf(stderr, "kiln_conformance: cannot write '%s'\n", o.out_path.c_str());
      return 2;
    }
  }
  Driver d(o, std::move(cases), o.out_path.empty() ? std::cout : file);
  d.run();
  if (!o.quiet)
    std::fprintf(stderr, "kiln_conformance: %d pass, %d fail, %d unsupported\n", d.count("pass"), d.count("fail"),
                 d.count("unsupported"));
  return 0;
}
