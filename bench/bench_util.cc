#include "bench_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <httplib.h>

namespace ebb::bench {

pid_t StartFixedServer(int* port, int counter_fd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    httplib::Server server;
    server.set_tcp_nodelay(true);
    server.new_task_queue = [] { return new httplib::ThreadPool(64); };
    std::atomic<long> count{0};
    server.Get("/api/v1/query", [&](const httplib::Request&, httplib::Response& res) {
      count.fetch_add(1, std::memory_order_relaxed);
      res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"42"]}]}})",
                      "application/json");
    });
    server.Get("/count", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::to_string(count.load()), "text/plain");
    });
    int p = server.bind_to_any_port("127.0.0.1");
    (void)!write(fds[1], &p, sizeof p);
    close(fds[1]);
    (void)counter_fd;
    server.listen_after_bind();
    _exit(0);
  }
  close(fds[1]);
  (void)!read(fds[0], port, sizeof *port);
  close(fds[0]);
  return pid;
}

long FixedServerCount(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/count");
  return r && r->status == 200 ? std::atol(r->body.c_str()) : -1;
}

long ProcStatusKiB(const char* field, pid_t pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status")
                            : "/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field) + 1);
  }
  return 0;
}

}  // namespace ebb::bench
