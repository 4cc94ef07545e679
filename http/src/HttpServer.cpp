#include "torcht1/http/HttpServer.h"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "HttpSession.h"
#include "Router.h"

namespace torcht1::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kMaxHeaderBytes = 16 * 1024;

/// The server whose thread this is, if any: stop() must not wait for its own thread.
thread_local const void* servingServer = nullptr;

std::string hostPort(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o)
      : options(std::move(o)),
        router(options.bearerToken),
        limits{options.maxBodyBytes, kMaxHeaderBytes, std::chrono::seconds(options.timeoutSeconds)},
        ioc(),
        work(asio::make_work_guard(ioc)),
        acceptor(ioc),
        retry(ioc) {}

  void accept();

  // Declared in the order they may be destroyed: the io_context destroys the sessions still
  // waiting in it, and they refer to the router.
  HttpServerOptions options;
  Router router;
  HttpSession::Limits limits;
  std::mutex sessionsMutex;
  std::vector<std::weak_ptr<HttpSession>> sessions;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::vector<std::thread> threads;
  std::mutex lifecycleMutex;
  std::atomic<bool> started{false};
  bool stopped = false;
  std::atomic<int> boundPort{0};
};

void HttpServer::Impl::accept() {
  // Each connection gets its own strand: its handlers never run at the same time.
  acceptor.async_accept(asio::make_strand(ioc), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors, say: try again shortly rather than spin.
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([this](boost::system::error_code e) {
        if (!e) accept();
      });
      return;
    }
    auto session = std::make_shared<HttpSession>(std::move(socket), router, limits);
    {
      std::lock_guard<std::mutex> lock(sessionsMutex);
      sessions.erase(std::remove_if(sessions.begin(), sessions.end(), [](const auto& s) { return s.expired(); }),
                     sessions.end());
      sessions.push_back(session);
    }
    session->start();
    accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options) {
  if (options.port < 0 || options.port > 65535) {
    throw std::invalid_argument("http: port " + std::to_string(options.port) + " is outside 0..65535");
  }
  if (options.threads < 1) throw std::invalid_argument("http: threads must be at least 1");
  if (options.timeoutSeconds < 1) throw std::invalid_argument("http: timeoutSeconds must be at least 1");
  impl_ = std::make_unique<Impl>(std::move(options));
}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (const std::exception& e) {
    std::cerr << "http: " << e.what() << '\n';
  }
}

void HttpServer::route(std::string method, std::string path, Handler handler, bool isPublic) {
  // Checked before the lock too: a handler calling route() while stop() holds the lock and
  // waits for that handler's thread would otherwise never return.
  if (impl_->started) throw std::logic_error("http: routes must be added before start()");
  std::lock_guard<std::mutex> lock(impl_->lifecycleMutex);
  if (impl_->started) throw std::logic_error("http: routes must be added before start()");
  impl_->router.add(std::move(method), std::move(path), std::move(handler), isPublic);
}

void HttpServer::start() {
  std::lock_guard<std::mutex> lock(impl_->lifecycleMutex);
  if (impl_->started || impl_->stopped) throw std::logic_error("http: start() called twice, or after stop()");
  Impl& s = *impl_;
  const std::string where = hostPort(s.options.bind, s.options.port);
  const auto fail = [&](const std::string& reason) {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    return std::runtime_error("http: cannot listen on " + where + ": " + reason);
  };

  boost::system::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(s.options.bind, ec), static_cast<unsigned short>(s.options.port));
  if (ec) {
    // Not an IP address: resolve the name once, take the first address.
    tcp::resolver resolver(s.ioc);
    const auto results = resolver.resolve(s.options.bind, std::to_string(s.options.port), ec);
    if (ec || results.empty()) throw fail(ec ? ec.message() : "no address");
    endpoint = results.begin()->endpoint();
  }
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) throw fail(ec.message());
  // Lets a restarted node take its port back from connections in TIME_WAIT; on Linux it never
  // lets two servers listen on one port.
  s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) throw fail(ec.message());
  s.acceptor.bind(endpoint, ec);
  if (ec) throw fail(ec.message());
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail(ec.message());
  const tcp::endpoint bound = s.acceptor.local_endpoint(ec);
  if (ec) throw fail(ec.message());
  s.boundPort = bound.port();

  s.started = true;
  s.accept();
  for (int i = 0; i < s.options.threads; ++i) {
    s.threads.emplace_back([&s] {
      servingServer = &s;
      // Handlers do not throw (the router and the sessions catch); if one ever does, this
      // thread keeps serving instead of ending the process.
      for (;;) {
        try {
          s.ioc.run();
          return;
        } catch (const std::exception& e) {
          std::cerr << "http: " << e.what() << '\n';
        } catch (...) {
          std::cerr << "http: unknown exception\n";
        }
      }
    });
  }
}

int HttpServer::port() const { return impl_->boundPort; }

void HttpServer::stop() {
  if (servingServer == impl_.get()) throw std::logic_error("http: stop() called from a handler");
  std::lock_guard<std::mutex> lock(impl_->lifecycleMutex);
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (!s.started) return;
  // Stop the threads first (each finishes the handler it is in), then close sockets while
  // nothing else touches them. The sessions themselves go with the io_context.
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
  s.retry.cancel();
  std::lock_guard<std::mutex> sessionsLock(s.sessionsMutex);
  for (const auto& weak : s.sessions) {
    if (const auto session = weak.lock()) session->close();
  }
  s.sessions.clear();
}

}  // namespace torcht1::http
