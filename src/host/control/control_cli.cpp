#include "host/control/control_cli.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "host/control/control_client.hpp"
#include "host/control/control_protocol.hpp"
#include "host/control/event_log.hpp"
#include "host/control/host_control.hpp"
#include "host/control/oid_names.hpp"
#include "host/control/socket_path.hpp"

namespace ndishost::host {

namespace {

constexpr const char* kExitStatusFooter =
    "Exit status: 0 done; 1 ndishost refused or failed the request (e.g. unknown device);\n"
    "2 bad input (unknown OID name, bad hex bytes); 3 cannot reach ndishost (not running,\n"
    "permission denied); 105-115 command-line syntax errors.";

constexpr const char* kSocketHelp =
    "Control socket of the running ndishost. Default: $NDISHOST_CONTROL if set; else\n"
    "/run/ndishost/control.sock as root; else $XDG_RUNTIME_DIR/ndishost.sock, falling back\n"
    "to /run/ndishost/control.sock when that does not exist";

struct Context {
  std::ostream& out;
  std::ostream& err;
};

struct CommonOptions {
  std::string socket;
  std::optional<std::filesystem::path> socketPath() const {
    if (socket.empty()) return std::nullopt;
    return std::filesystem::path(socket);
  }
};

// Runs `body` and maps what it throws to the documented exit statuses.
void runCommand(const Context& context, const std::string& name, const std::function<void()>& body) {
  int status = 0;
  try {
    body();
  } catch (const ControlConnectError& error) {
    context.err << "ndishost " << name << ": " << error.what() << "\n";
    status = kExitNotReachable;
  } catch (const ControlError& error) {
    context.err << "ndishost " << name << ": error: " << error.what() << "\n";
    status = kExitRequestFailed;
  } catch (const std::invalid_argument& error) {
    context.err << "ndishost " << name << ": " << error.what() << "\n";
    status = kExitBadInput;
  } catch (const nlohmann::json::exception& error) {
    context.err << "ndishost " << name << ": unexpected answer from ndishost: " << error.what() << "\n";
    status = kExitNotReachable;
  }
  context.out.flush();
  if (status != 0) throw CLI::RuntimeError(status);
}

CLI::App* addCommand(CLI::App& app, const std::string& name, const std::string& description,
                     const std::shared_ptr<CommonOptions>& common) {
  CLI::App* command = app.add_subcommand(name, description);
  command->add_option("--socket", common->socket, kSocketHelp);
  command->footer(kExitStatusFooter);
  return command;
}

std::string orDash(const std::string& text) { return text.empty() ? "-" : text; }

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string text;
    for (std::size_t i = 0; i < row.size(); ++i)
      text += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    out << text << "\n";
  }
}

void flatten(const nlohmann::json& value, const std::string& prefix, std::vector<std::vector<std::string>>& rows) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) flatten(child, prefix.empty() ? key : prefix + "." + key, rows);
    return;
  }
  rows.push_back({prefix, value.is_string() ? value.get<std::string>() : value.dump()});
}

std::uint64_t littleEndian(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

// ---- the commands ----------------------------------------------------------------------

void addList(CLI::App& app, const Context& context) {
  auto common = std::make_shared<CommonOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = addCommand(
      app, "list",
      "List the devices of the running ndishost: one row per configured device with its\n"
      "kind (ncm, ecm, rndis), the driver bound to it, the NDIS adapter state (Running,\n"
      "Paused, ...; or unplugged, no-driver, failed), link, TAP interface and far side.",
      common);
  command->add_flag("--json", *json, "Print the rows as a JSON array instead of a table");
  command->callback([context, common, json] {
    runCommand(context, "list", [&] {
      const auto reply = connectControl(common->socketPath()).request({{"cmd", "list"}});
      const auto& adapters = reply.at("adapters");
      if (*json) {
        context.out << adapters.dump(2) << "\n";
        return;
      }
      if (adapters.empty()) {
        context.out << "no devices configured\n";
        return;
      }
      std::vector<std::vector<std::string>> rows{{"DEVICE", "KIND", "DRIVER", "STATE", "LINK", "TAP", "FAR SIDE"}};
      for (const auto& object : adapters) {
        const AdapterRow row = control::adapterRowFromJson(object);
        rows.push_back({row.device, orDash(row.kind), orDash(row.driver), orDash(row.state), orDash(row.link),
                        orDash(row.tap), orDash(row.farSide)});
      }
      printTable(context.out, rows);
    });
  });
}

void addStats(CLI::App& app, const Context& context) {
  auto common = std::make_shared<CommonOptions>();
  auto json = std::make_shared<bool>(false);
  auto device = std::make_shared<std::string>();
  CLI::App* command = addCommand(
      app, "stats",
      "Print per-device counters of the running ndishost: NDIS (sends, receives, OIDs,\n"
      "resets), driver, TAP binding, USB and far side. All devices unless one is named.",
      common);
  command->add_option("device", *device, "Device name as `ndishost list` shows it (default: all)");
  command->add_flag("--json", *json, "Print the counters as JSON (keyed by device) instead of name/value lines");
  command->callback([context, common, json, device] {
    runCommand(context, "stats", [&] {
      const auto reply = connectControl(common->socketPath()).request({{"cmd", "stats"}, {"device", *device}});
      const auto& stats = reply.at("stats");
      if (*json) {
        context.out << stats.dump(2) << "\n";
        return;
      }
      if (stats.is_object() && !stats.empty() && device->empty()) {
        bool first = true;
        for (const auto& [name, counters] : stats.items()) {
          if (!first) context.out << "\n";
          first = false;
          context.out << name << ":\n";
          std::vector<std::vector<std::string>> rows;
          flatten(counters, "", rows);
          for (auto& row : rows) row[0] = "  " + row[0];
          printTable(context.out, rows);
        }
        return;
      }
      std::vector<std::vector<std::string>> rows;
      flatten(stats, "", rows);
      printTable(context.out, rows);
    });
  });
}

void addOid(CLI::App& app, const Context& context) {
  CLI::App* oid = app.add_subcommand(
      "oid",
      "Query or set an NDIS OID on a device of the running ndishost, through its TAP binding\n"
      "(NdisOidRequest), as a protocol driver would. OIDs are names (OID_GEN_LINK_SPEED; the\n"
      "OID_ prefix and case are optional; `ndishost oid names` lists them) or hex (0x00010107).");
  oid->require_subcommand(1);
  oid->footer(kExitStatusFooter);

  {
    auto common = std::make_shared<CommonOptions>();
    struct Query {
      std::string device, oid;
      std::size_t length = 256;
      bool json = false;
    };
    auto options = std::make_shared<Query>();
    CLI::App* query = addCommand(
        *oid, "query",
        "Query an OID and print the bytes the miniport returned (hex), plus their value as a\n"
        "little-endian number for 4- and 8-byte answers and as a MAC address for 6-byte ones.\n"
        "Example: ndishost oid query ncm0 OID_GEN_LINK_SPEED",
        common);
    query->add_option("device", options->device, "Device name as `ndishost list` shows it")->required();
    query->add_option("oid", options->oid, "OID name or 0x hex value")->required();
    query->add_option("--length", options->length, "Size of the answer buffer in bytes")
        ->check(CLI::Range(std::size_t{0}, std::size_t{65536}))
        ->capture_default_str();
    query->add_flag("--json", options->json, "Print {device, oid, name, data} as JSON");
    query->callback([context, common, options] {
      runCommand(context, "oid query", [&] {
        const std::uint32_t value = control::parseOid(options->oid);
        const auto reply = connectControl(common->socketPath())
                               .request({{"cmd", "oid-query"},
                                         {"device", options->device},
                                         {"oid", value},
                                         {"length", options->length}});
        const std::string hex = reply.at("data").get<std::string>();
        const auto bytes = control::parseHexBytes(hex);
        const auto name = control::oidName(value);
        if (options->json) {
          context.out << nlohmann::json{{"device", options->device},
                                        {"oid", fmt::format("{:#010x}", value)},
                                        {"name", name ? std::string(*name) : std::string()},
                                        {"data", hex}}
                             .dump()
                      << "\n";
          return;
        }
        context.out << fmt::format("{} {} ({:#010x}): {} byte{}\n", options->device, name ? *name : "OID", value,
                                   bytes.size(), bytes.size() == 1 ? "" : "s");
        std::string dump;
        for (std::size_t i = 0; i < bytes.size(); ++i)
          dump += fmt::format("{}{:02x}", i == 0 ? "" : (i % 16 == 0 ? "\n  " : " "), bytes[i]);
        if (!bytes.empty()) context.out << "  " << dump << "\n";
        if (bytes.size() == 4 || bytes.size() == 8)
          context.out << fmt::format("  = {} ({:#x})\n", littleEndian(bytes), littleEndian(bytes));
        if (bytes.size() == 6)
          context.out << fmt::format("  = {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n", bytes[0], bytes[1], bytes[2],
                                     bytes[3], bytes[4], bytes[5]);
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    struct Set {
      std::string device, oid, data;
    };
    auto options = std::make_shared<Set>();
    CLI::App* set = addCommand(
        *oid, "set",
        "Set an OID to the given bytes. Numbers are little-endian as on Windows x64.\n"
        "Example (directed|multicast|broadcast packet filter): ndishost oid set ncm0\n"
        "OID_GEN_CURRENT_PACKET_FILTER 0b000000",
        common);
    set->add_option("device", options->device, "Device name as `ndishost list` shows it")->required();
    set->add_option("oid", options->oid, "OID name or 0x hex value")->required();
    set->add_option("bytes", options->data,
                    "Data as hex digit pairs, separators ' ', ':', '-', ',' allowed (\"01 00 00 00\")")
        ->required();
    set->callback([context, common, options] {
      runCommand(context, "oid set", [&] {
        const std::uint32_t value = control::parseOid(options->oid);
        const auto bytes = control::parseHexBytes(options->data);
        connectControl(common->socketPath())
            .request({{"cmd", "oid-set"}, {"device", options->device}, {"oid", value}, {"data", control::toHex(bytes)}});
        const auto name = control::oidName(value);
        context.out << fmt::format("{}: {} ({:#010x}) set ({} byte{})\n", options->device, name ? *name : "OID", value,
                                   bytes.size(), bytes.size() == 1 ? "" : "s");
      });
    });
  }
  CLI::App* names = oid->add_subcommand("names", "List the OID names these commands accept, with their values");
  names->callback([context] {
    for (const auto& [name, value] : control::knownOids()) context.out << fmt::format("{:#010x}  {}\n", value, name);
  });
}

void addDeviceAction(CLI::App& app, const Context& context, const std::string& name, const std::string& description,
                     const std::string& done) {
  auto common = std::make_shared<CommonOptions>();
  auto device = std::make_shared<std::string>();
  CLI::App* command = addCommand(app, name, description, common);
  command->add_option("device", *device, "Device name as `ndishost list` shows it")->required();
  command->callback([context, common, device, name, done] {
    runCommand(context, name, [&] {
      ControlClient client = connectControl(common->socketPath());
      client.send({{"cmd", name}, {"device", *device}});
      std::optional<nlohmann::json> reply;
      try {
        reply = client.receive(std::chrono::seconds(1));
      } catch (const ControlTimeoutError&) {
        // Unplug, plug and power changes wait for the whole stack; say that it is working.
        context.err << fmt::format("{}: {} in progress...\n", *device, name);
        reply = client.receive(std::chrono::minutes(2));
      }
      client.expectReply(std::move(reply));
      context.out << fmt::format("{}: {}\n", *device, done);
    });
  });
}

void addLink(CLI::App& app, const Context& context) {
  auto common = std::make_shared<CommonOptions>();
  struct Link {
    std::string device, state;
  };
  auto options = std::make_shared<Link>();
  CLI::App* command = addCommand(
      app, "link",
      "Take a device's network link down or up, as pulling or plugging its cable would: the\n"
      "emulated USB device reports the change (CDC NETWORK_CONNECTION, RNDIS MEDIA_CONNECT/\n"
      "DISCONNECT), the adapter indicates NDIS_STATUS_LINK_STATE and the TAP loses or regains\n"
      "carrier. Returns once the TAP follows (or after 5 s while the adapter cannot indicate).\n"
      "Example: ndishost link ncm0 down",
      common);
  command->add_option("device", options->device, "Device name as `ndishost list` shows it")->required();
  command->add_option("state", options->state, "up or down")->required()->check(CLI::IsMember({"up", "down"}));
  command->callback([context, common, options] {
    runCommand(context, "link", [&] {
      connectControl(common->socketPath())
          .request({{"cmd", "link"}, {"device", options->device}, {"up", options->state == "up"}});
      context.out << fmt::format("{}: link {}\n", options->device, options->state);
    });
  });
}

void addTrace(CLI::App& app, const Context& context) {
  auto common = std::make_shared<CommonOptions>();
  struct Trace {
    bool json = false;
    std::size_t count = 0;
  };
  auto options = std::make_shared<Trace>();
  CLI::App* command = addCommand(
      app, "trace",
      "Stream live events of the running ndishost until interrupted (Ctrl-C): adapter state\n"
      "changes, OIDs, resets, removals, power, errors. One line per event: time, device,\n"
      "kind (state|oid|reset|removal|status|error), what happened. --json prints event-log\n"
      "records, so `ndishost trace --json > events.jsonl` makes a file `ndishost timeline` reads.",
      common);
  command->add_flag("--json", options->json, "Print each event as an event-log JSON line");
  command->add_option("--count", options->count, "Stop after this many events (0 = until interrupted)")
      ->capture_default_str();
  command->callback([context, common, options] {
    runCommand(context, "trace", [&] {
      ControlClient client = connectControl(common->socketPath());
      client.request({{"cmd", "trace"}});
      if (!options->json) context.err << "tracing ndishost at " << client.socketPath().string() << " (Ctrl-C stops)\n";
      std::size_t seen = 0;
      while (options->count == 0 || seen < options->count) {
        const auto message = client.receive();
        if (!message) throw ControlConnectError("ndishost stopped (the control socket closed)");
        if (message->contains("dropped")) {
          context.err << fmt::format("ndishost trace: {} events dropped (reading too slowly)\n",
                                     message->value("dropped", std::uint64_t{0}));
          continue;
        }
        if (!message->contains("event")) continue;
        const auto record = normalizeEvent(message->at("event"), std::chrono::system_clock::now());
        ++seen;
        if (options->json) {
          context.out << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        } else {
          const std::string time = record.value("time", "");
          context.out << fmt::format("{}  {:<12} {:<8} {}\n", time.size() >= 23 ? time.substr(11, 12) : time,
                                     record.value("device", ""), record.value("kind", ""), record.value("summary", ""));
        }
        context.out.flush();
      }
    });
  });
}

}  // namespace

void addControlCommands(CLI::App& app, std::ostream& out, std::ostream& err) {
  const Context context{out, err};
  addList(app, context);
  addStats(app, context);
  addOid(app, context);
  addDeviceAction(app, context, "unplug",
                  "Surprise-remove a device: the emulated USB device leaves the bus, its driver sees\n"
                  "IRP_MN_SURPRISE_REMOVAL then IRP_MN_REMOVE_DEVICE, the TAP loses carrier.",
                  "unplugged (surprise removal)");
  addDeviceAction(app, context, "plug",
                  "Plug an unplugged device back in: it arrives on the bus again, its driver is\n"
                  "loaded and the adapter brought up and bound to its TAP interface again.",
                  "plugged in");
  addDeviceAction(app, context, "reset",
                  "Reset a device's adapter through NDIS (MiniportResetEx), as NDIS does when a\n"
                  "miniport hangs; returns when the reset has completed.",
                  "reset complete");
  addDeviceAction(app, context, "suspend",
                  "Put a device in D3 (OID_PNP_SET_POWER / IRP_MN_SET_POWER): the adapter pauses and\n"
                  "the driver powers its device down. `ndishost resume` brings it back.",
                  "suspended (D3)");
  addDeviceAction(app, context, "resume", "Bring a suspended device back to D0 and restart its adapter.",
                  "resumed (D0)");
  addLink(app, context);
  addDeviceAction(app, context, "hang",
                  "Make a device stop answering, as a wedged USB device does: its bulk transfers stay\n"
                  "pending. NDIS's send time-out ([ndis] check-for-hang-ms) detects the hang and resets\n"
                  "the adapter (MiniportResetEx); the driver's pipe abort revives the device. For testing\n"
                  "recovery; `ndishost stats` counts hangs_detected and resets.",
                  "stopped answering (NDIS will detect it and reset the adapter)");
  addTrace(app, context);
  addTimelineCommand(app, out, err);
}

}  // namespace ndishost::host
