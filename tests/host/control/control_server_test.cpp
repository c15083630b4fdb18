// ControlServer + ControlClient: the wire protocol, several clients at once, trace streams,
// shutdown, and what happens to sockets left behind or owned by someone else.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "fake_host_control.hpp"
#include "host/control/control_client.hpp"
#include "host/control/control_protocol.hpp"
#include "host/control/control_server.hpp"
#include "host/control/socket_io.hpp"

namespace ndishost::host {
namespace {

using test::FakeHostControl;
using test::TempDir;
using test::waitUntil;

class ControlServerTest : public ::testing::Test {
 protected:
  TempDir dir;
  FakeHostControl host;
  std::filesystem::path socket = dir / "control.sock";
};

// Sends raw text, returns the first reply line (or "" when the server closed).
std::string rawExchange(const std::filesystem::path& path, const std::string& text) {
  auto fd = control::connectUnix(path);
  EXPECT_TRUE(fd);
  EXPECT_TRUE(control::sendAll(fd.get(), text, -1, std::chrono::seconds(5)));
  control::LineReader reader(1 << 20);
  std::string line;
  if (reader.next(fd.get(), line, -1, std::chrono::seconds(5)) != control::LineReader::Result::Line) return "";
  return line;
}

TEST_F(ControlServerTest, SocketIsCreatedWithMode0660AndRemovedOnShutdown) {
  {
    ControlServer server(host, socket);
    struct stat info {};
    ASSERT_EQ(::stat(socket.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0660u);
    EXPECT_EQ(server.socketPath(), socket);
  }
  EXPECT_FALSE(std::filesystem::exists(socket));
}

TEST_F(ControlServerTest, CreatesTheSocketDirectory) {
  const auto nested = dir / "run/ndishost/control.sock";
  ControlServer server(host, nested);
  EXPECT_TRUE(std::filesystem::is_socket(nested));
}

TEST_F(ControlServerTest, HelloNamesTheServer) {
  ControlServer server(host, socket);
  ControlClient client(socket);
  const auto reply = client.request({{"cmd", "hello"}});
  EXPECT_EQ(reply.value("server", ""), "ndishost");
  EXPECT_EQ(reply.value("pid", 0), ::getpid());
  EXPECT_EQ(reply.value("protocol", 0), control::kProtocolVersion);
}

TEST_F(ControlServerTest, EveryCommandRoundTrips) {
  ControlServer server(host, socket);
  ControlClient client(socket);

  const auto list = client.request({{"cmd", "list"}});
  ASSERT_EQ(list.at("adapters").size(), 2u);
  EXPECT_EQ(list["adapters"][0].value("device", ""), "ncm0");
  EXPECT_EQ(list["adapters"][1].value("farSide", ""), "afpacket:veth1");

  EXPECT_EQ(client.request({{"cmd", "stats"}}).at("stats").size(), 2u);
  EXPECT_EQ(client.request({{"cmd", "stats"}, {"device", "rndis0"}})["stats"]["driver"]["name"], "usbrndis");

  client.request({{"cmd", "oid-set"}, {"device", "ncm0"}, {"oid", 0x0001010E}, {"data", "0b000000"}});
  EXPECT_EQ(host.oidValue(0x0001010E), (std::vector<std::uint8_t>{0x0b, 0, 0, 0}));
  const auto query = client.request({{"cmd", "oid-query"}, {"device", "ncm0"}, {"oid", 0x0001010E}, {"length", 4}});
  EXPECT_EQ(query.value("data", ""), "0b000000");
  EXPECT_EQ(host.lastQuery(), (std::pair<std::uint32_t, std::size_t>{0x0001010E, 4}));

  client.request({{"cmd", "unplug"}, {"device", "ncm0"}});
  EXPECT_EQ(host.state("ncm0"), "unplugged");
  client.request({{"cmd", "plug"}, {"device", "ncm0"}});
  EXPECT_EQ(host.state("ncm0"), "Running");
  client.request({{"cmd", "suspend"}, {"device", "rndis0"}});
  EXPECT_EQ(host.state("rndis0"), "Paused (D3)");
  client.request({{"cmd", "resume"}, {"device", "rndis0"}});
  EXPECT_EQ(host.state("rndis0"), "Running");
  client.request({{"cmd", "reset"}, {"device", "rndis0"}});
  EXPECT_EQ(host.resetCount(), 1);
  client.request({{"cmd", "link"}, {"device", "ncm0"}, {"up", false}});
  EXPECT_EQ(host.link("ncm0"), "down");
  client.request({{"cmd", "link"}, {"device", "ncm0"}, {"up", true}});
  EXPECT_EQ(host.link("ncm0"), "up 1 Gbps");
  client.request({{"cmd", "hang"}, {"device", "ncm0"}});
  EXPECT_EQ(host.state("ncm0"), "hung");
}

TEST_F(ControlServerTest, HostErrorsComeBackAsControlErrorsAndTheConnectionStaysUsable) {
  ControlServer server(host, socket);
  ControlClient client(socket);
  try {
    client.request({{"cmd", "unplug"}, {"device", "ncm9"}});
    FAIL() << "unknown device accepted";
  } catch (const ControlError& error) {
    EXPECT_STREQ(error.what(), "no adapter named ncm9");
  }
  EXPECT_THROW(client.request({{"cmd", "oid-query"}, {"device", "ncm0"}, {"oid", 0x00010107}}), ControlError);
  EXPECT_EQ(client.request({{"cmd", "list"}})["adapters"].size(), 2u);
}

TEST_F(ControlServerTest, MalformedRequestsGetAnErrorLine) {
  ControlServer server(host, socket);
  auto error = [](const std::string& line) {
    const auto reply = nlohmann::json::parse(line);
    EXPECT_FALSE(reply.value("ok", true)) << line;
    return reply.value("error", "");
  };
  EXPECT_EQ(error(rawExchange(socket, "not json\n")), "request is not a JSON object");
  EXPECT_EQ(error(rawExchange(socket, "{\"cmd\":\"explode\"}\n")), "unknown command \"explode\"");
  EXPECT_NE(error(rawExchange(socket, "{\"cmd\":\"reset\"}\n")).find("needs a \"device\""), std::string::npos);
  EXPECT_NE(error(rawExchange(socket, "{\"cmd\":\"link\",\"device\":\"ncm0\",\"up\":\"down\"}\n")).find("true or false"),
            std::string::npos);
  EXPECT_NE(error(rawExchange(socket, "{\"cmd\":\"oid-query\",\"device\":\"ncm0\",\"oid\":-1}\n")).find("32-bit"),
            std::string::npos);
  EXPECT_NE(error(rawExchange(socket, "{\"cmd\":\"oid-set\",\"device\":\"ncm0\",\"oid\":1,\"data\":\"xyz\"}\n"))
                .find("bad hex bytes"),
            std::string::npos);
  EXPECT_EQ(error(rawExchange(socket, std::string(control::kMaxRequestBytes + 10, 'x'))), "request line too long");
  // The server is still serving.
  EXPECT_EQ(ControlClient(socket).request({{"cmd", "list"}})["adapters"].size(), 2u);
}

TEST_F(ControlServerTest, ServesConcurrentClients) {
  ControlServer server(host, socket);
  ControlClient idle(socket);  // a connected client that says nothing must not hold others up
  constexpr int kClients = 8, kRequests = 40;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      ControlClient client(socket);
      for (int i = 0; i < kRequests; ++i) {
        const auto reply = (i + c) % 2 == 0 ? client.request({{"cmd", "list"}})
                                             : client.request({{"cmd", "stats"}, {"device", "ncm0"}});
        if (reply.value("ok", false)) ++answered;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients * kRequests);
  EXPECT_EQ(host.calls(), kClients * kRequests);
  EXPECT_TRUE(waitUntil([&] { return server.activeClients() == 1; }));  // only `idle` left
}

TEST_F(ControlServerTest, RefusesClientsBeyondTheLimit) {
  ControlServer server(host, socket, {.maxClients = 2});
  ControlClient a(socket), b(socket);
  ASSERT_TRUE(waitUntil([&] { return server.activeClients() == 2; }));
  ControlClient c(socket);
  const auto reply = c.receive(std::chrono::seconds(5));
  ASSERT_TRUE(reply);
  EXPECT_NE(reply->value("error", "").find("too many control clients"), std::string::npos);
  EXPECT_TRUE(a.request({{"cmd", "list"}}).value("ok", false));
}

TEST_F(ControlServerTest, TraceStreamsEventsInOrderUntilTheClientDisconnects) {
  ControlServer server(host, socket);
  {
    ControlClient client(socket);
    const auto started = client.request({{"cmd", "trace"}});
    EXPECT_TRUE(started.value("streaming", false));
    ASSERT_TRUE(waitUntil([&] { return host.subscribers() == 1; }));
    for (int i = 0; i < 100; ++i) host.emit({{"device", "ncm0"}, {"kind", "oid"}, {"seq", i}});
    for (int i = 0; i < 100; ++i) {
      const auto message = client.receive(std::chrono::seconds(5));
      ASSERT_TRUE(message);
      ASSERT_TRUE(message->contains("event")) << message->dump();
      EXPECT_EQ((*message)["event"].value("seq", -1), i);
    }
  }
  // The client went away: the server must notice without any event, unsubscribe and end the session.
  EXPECT_TRUE(waitUntil([&] { return host.subscribers() == 0; }));
  EXPECT_TRUE(waitUntil([&] { return server.activeClients() == 0; }));
}

TEST_F(ControlServerTest, TraceReportsDroppedEventsWhenTheReaderFallsBehind) {
  ControlServer server(host, socket, {.traceQueueLimit = 4});
  ControlClient client(socket);
  client.request({{"cmd", "trace"}});
  ASSERT_TRUE(waitUntil([&] { return host.subscribers() == 1; }));
  // A large event fills the socket buffer quickly, so the queue overflows while the
  // session thread waits for room.
  const std::string payload(64 * 1024, 'p');
  for (int i = 0; i < 200; ++i) host.emit({{"seq", i}, {"payload", payload}});
  bool sawDropped = false;
  int events = 0;
  while (events < 200) {
    auto message = client.receive(std::chrono::milliseconds(500));
    ASSERT_TRUE(message);
    if (message->contains("dropped")) {
      sawDropped = true;
      EXPECT_GT(message->value("dropped", 0), 0);
      break;
    }
    ++events;
  }
  EXPECT_TRUE(sawDropped);
  EXPECT_LT(events, 200);
}

TEST_F(ControlServerTest, ShutdownEndsTraceStreamsAndIdleClients) {
  auto server = std::make_unique<ControlServer>(host, socket);
  ControlClient tracer(socket);
  tracer.request({{"cmd", "trace"}});
  ControlClient idle(socket);
  ASSERT_TRUE(waitUntil([&] { return server->activeClients() == 2; }));
  const auto before = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
  EXPECT_EQ(host.subscribers(), 0u);
  EXPECT_FALSE(tracer.receive(std::chrono::seconds(2)).has_value());  // EOF
  EXPECT_FALSE(idle.receive(std::chrono::seconds(2)).has_value());
}

TEST_F(ControlServerTest, ReplacesAStaleSocket) {
  {
    // A socket file nobody listens on, as a killed ndishost leaves behind.
    control::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket.c_str());
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  ASSERT_TRUE(std::filesystem::is_socket(socket));
  ControlServer server(host, socket);
  EXPECT_EQ(ControlClient(socket).request({{"cmd", "list"}})["adapters"].size(), 2u);
}

TEST_F(ControlServerTest, RefusesASocketAnotherNdishostServes) {
  ControlServer first(host, socket);
  FakeHostControl other;
  try {
    ControlServer second(other, socket);
    FAIL() << "second server started on a live socket";
  } catch (const ControlError& error) {
    EXPECT_NE(std::string(error.what()).find("another ndishost (pid " + std::to_string(::getpid()) + ")"),
              std::string::npos)
        << error.what();
  }
  // The first server is unharmed.
  EXPECT_EQ(ControlClient(socket).request({{"cmd", "list"}})["adapters"].size(), 2u);
}

TEST_F(ControlServerTest, NeverTouchesAFileThatIsNotASocket) {
  { std::ofstream(socket) << "precious"; }
  EXPECT_THROW(ControlServer(host, socket), ControlError);
  std::ifstream in(socket);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(ControlServerTest, RejectsAPathTooLongForAUnixSocket) {
  const auto longPath = dir / std::string(120, 'x');
  try {
    ControlServer server(host, longPath);
    FAIL();
  } catch (const ControlError& error) {
    EXPECT_NE(std::string(error.what()).find("too long"), std::string::npos);
  }
}

TEST_F(ControlServerTest, ClientErrorsSayWhatIsWrong) {
  try {
    ControlClient client(dir / "absent.sock");
    FAIL();
  } catch (const ControlConnectError& error) {
    EXPECT_EQ(std::string(error.what()), "ndishost is not running (no socket at " + (dir / "absent.sock").string() + ")");
  }
  EXPECT_NE(describeConnectFailure("/x.sock", EACCES).find("permission denied on /x.sock"), std::string::npos);
  EXPECT_NE(describeConnectFailure("/x.sock", ECONNREFUSED).find("stale socket"), std::string::npos);
}

// Mode 0660 keeps out users outside the socket's group. As root, check it with a child that
// drops to nobody; otherwise take the permission away from ourselves.
TEST_F(ControlServerTest, SocketModeKeepsOtherUsersOut) {
  ControlServer server(host, socket);
  ::chmod(dir.path().c_str(), 0755);
  if (::geteuid() != 0) {
    ::chmod(socket.c_str(), 0);
    EXPECT_FALSE(control::connectUnix(socket));
    EXPECT_EQ(errno, EACCES);
    ::chmod(socket.c_str(), 0660);
    return;
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe calls here: the parent has threads.
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
      ::_exit(100);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket.c_str(), socket.native().size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) ::_exit(0);
    ::_exit(errno == EACCES ? 13 : 101);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 13) << "0 = nobody could connect, 100 = could not drop privileges";
}

TEST(ControlSocketPath, FollowsTheEnvironment) {
  const char* saved = std::getenv("NDISHOST_CONTROL");
  const std::string savedValue = saved ? saved : "";
  ::setenv("NDISHOST_CONTROL", "/tmp/elsewhere.sock", 1);
  EXPECT_EQ(defaultControlSocketPath(), "/tmp/elsewhere.sock");
  EXPECT_EQ(controlSocketCandidates(), std::vector<std::filesystem::path>{"/tmp/elsewhere.sock"});
  ::unsetenv("NDISHOST_CONTROL");
  if (::geteuid() == 0) {
    EXPECT_EQ(defaultControlSocketPath(), "/run/ndishost/control.sock");
  } else if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    EXPECT_EQ(defaultControlSocketPath(), std::filesystem::path(runtime) / "ndishost.sock");
  }
  EXPECT_EQ(controlSocketCandidates().back(), "/run/ndishost/control.sock");
  if (saved) ::setenv("NDISHOST_CONTROL", savedValue.c_str(), 1);
}

TEST(ControlProtocol, HexBytes) {
  EXPECT_EQ(control::parseHexBytes("0b 00:00-00"), (std::vector<std::uint8_t>{0x0b, 0, 0, 0}));
  EXPECT_EQ(control::parseHexBytes("0xDEADbeef"), (std::vector<std::uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_TRUE(control::parseHexBytes("").empty());
  EXPECT_THROW(control::parseHexBytes("abc"), std::invalid_argument);
  EXPECT_THROW(control::parseHexBytes("zz"), std::invalid_argument);
  const std::vector<std::uint8_t> bytes{0x00, 0x1a, 0xff};
  EXPECT_EQ(control::toHex(bytes), "001aff");
}

}  // namespace
}  // namespace ndishost::host
