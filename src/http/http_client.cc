#include "http/http_client.h"

#include "common/strings.h"

namespace ebb::http {

std::future<Result<HttpResponse>> HttpClient::Fetch(HttpRequest request) {
  auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
  auto future = promise->get_future();
  Send(std::move(request), [promise](Result<HttpResponse> r) { promise->set_value(std::move(r)); });
  return future;
}

void HttpClient::SendStreaming(HttpRequest request, HttpChunkCallback on_data,
                               HttpCallback done) {
  Send(std::move(request), [on_data = std::move(on_data), done = std::move(done)](
                               Result<HttpResponse> r) mutable {
    if (r.ok() && r->status >= 200 && r->status < 300) {
      std::string body = std::move(r->body);
      r->body.clear();
      if (!body.empty() && !on_data(body)) {
        done(Cancelled("stream stopped by its receiver"));
        return;
      }
    }
    done(std::move(r));
  });
}

bool HeaderNameEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ToLower(a) == ToLower(b);
}

bool IsSensitiveHeader(const Header& h) {
  return h.sensitive || HeaderNameEquals(h.name, "Authorization") ||
         HeaderNameEquals(h.name, "Proxy-Authorization") || HeaderNameEquals(h.name, "Cookie");
}

std::string HttpResponse::HeaderValue(std::string_view name) const {
  for (const Header& h : headers) {
    if (HeaderNameEquals(h.name, name)) return h.value;
  }
  return "";
}

}  // namespace ebb::http
