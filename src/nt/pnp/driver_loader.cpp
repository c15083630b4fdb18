#include <dlfcn.h>
#include <link.h>
#include <algorithm>
#include <mutex>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nt/pnp/driver_loader.hpp"
#include "nt/pnp/elf_imports.hpp"
#include "nt/ke/introspection.hpp"
#include "nt/pnp/pending_callbacks.hpp"
#include "nt/pnp/symbolize.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::pnp {
namespace {

spdlog::logger& log() { return logger("pnp"); }

// What must outlive a driver that could not be cleanly unloaded: its DriverImage, which
// ledger entries still point at (they may be freed later, by the host), and -- for a driver
// whose devices outlived it -- the registration that attributes its calls.
struct Graveyard {
  std::mutex lock;
  std::vector<std::shared_ptr<DriverImage>> images;
  std::vector<std::unique_ptr<DriverImageRegistration>> registrations;
};

Graveyard& graveyard() {
  static Graveyard instance;
  return instance;
}

void retireImage(std::shared_ptr<DriverImage> image) {
  auto& g = graveyard();
  std::lock_guard guard(g.lock);
  g.images.push_back(std::move(image));
}

void retireRegistration(std::unique_ptr<DriverImageRegistration> registration) {
  auto& g = graveyard();
  std::lock_guard guard(g.lock);
  g.registrations.push_back(std::move(registration));
}

// [base, end) of the object dlopen mapped for `handle`: the span of its PT_LOAD segments.
std::pair<std::uintptr_t, std::uintptr_t> imageRange(void* handle) {
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) return {0, 0};
  struct Search {
    ElfW(Addr) loadAddress;
    std::uintptr_t begin = UINTPTR_MAX;
    std::uintptr_t end = 0;
  } search{map->l_addr};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_addr != s->loadAddress) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          s->begin = std::min<std::uintptr_t>(s->begin, info->dlpi_addr + ph.p_vaddr);
          s->end = std::max<std::uintptr_t>(s->end, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        return 1;
      },
      &search);
  if (search.end == 0) return {0, 0};
  return {search.begin, search.end};
}

std::string joinLines(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += fmt::format("\n    {}", item);
  return text;
}

LeakReport collectLeaks(const std::string& name, const std::filesystem::path& path, const DriverImage& image) {
  LeakReport report;
  report.driver = name;
  report.path = path.string();
  for (const auto& leak : ledgerOutstanding(image)) {
    report.resources.push_back({leak.kind, leak.object, leak.tag, leak.size, symbolizeAddress(leak.callSite)});
  }
  report.callbacks = pendingCallbacksIn(image);
  return report;
}

}  // namespace

DriverLoadError::DriverLoadError(LoadFailure failure, std::string driver, const std::string& message,
                                 std::vector<std::string> missingSymbols, NTSTATUS status)
    : std::runtime_error(message),
      failure_(failure),
      driver_(std::move(driver)),
      missingSymbols_(std::move(missingSymbols)),
      status_(status) {}

std::u16string serviceRegistryPath(const std::string& name) {
  std::u16string path = u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
  for (char c : name) path.push_back(static_cast<char16_t>(static_cast<unsigned char>(c)));
  return path;
}

std::unique_ptr<LoadedDriver> LoadedDriver::load(const std::string& name, const std::filesystem::path& path) {
  // 1. Imports, before anything is mapped: every missing one, in one message.
  ElfImports imports;
  try {
    imports = readElfImports(path);
  } catch (const std::exception& error) {
    throw DriverLoadError(LoadFailure::NotLoadable, name, fmt::format("cannot load driver {}: {}", name, error.what()));
  }
  UnresolvedImports unresolved = findUnresolvedImports(imports);
  if (!unresolved.empty()) {
    std::string message = fmt::format("cannot load driver {} ({}):", name, path.string());
    if (!unresolved.symbols.empty()) {
      message += fmt::format("\n  {} unresolved import{} (DDIs or symbols ndishost does not provide):{}",
                             unresolved.symbols.size(), unresolved.symbols.size() == 1 ? "" : "s",
                             joinLines(unresolved.symbols));
    }
    if (!unresolved.missingLibraries.empty()) {
      message += fmt::format("\n  libraries it needs that cannot be found:{}", joinLines(unresolved.missingLibraries));
    }
    throw DriverLoadError(LoadFailure::UnresolvedImports, name, message, unresolved.symbols);
  }

  // 2. Map it. RTLD_LOCAL: two drivers' symbols never meet; RTLD_NOW: no lazy surprises.
  auto driver = std::unique_ptr<LoadedDriver>(new LoadedDriver());
  driver->name_ = name;
  driver->path_ = std::filesystem::absolute(path).lexically_normal();
  driver->handle_ = dlopen(driver->path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (driver->handle_ == nullptr) {
    throw DriverLoadError(LoadFailure::MapFailed, name, fmt::format("cannot load driver {}: {}", name, dlerror()));
  }

  auto [base, end] = imageRange(driver->handle_);
  auto entry = reinterpret_cast<PDRIVER_INITIALIZE>(dlsym(driver->handle_, "DriverEntry"));
  if (entry == nullptr || reinterpret_cast<std::uintptr_t>(entry) < base ||
      reinterpret_cast<std::uintptr_t>(entry) >= end) {
    dlclose(driver->handle_);
    driver->handle_ = nullptr;
    throw DriverLoadError(LoadFailure::NoDriverEntry, name,
                          fmt::format("cannot load driver {} ({}): it exports no DriverEntry routine "
                                      "(declare it `DRIVER_INITIALIZE DriverEntry;` and define it with C linkage)",
                                      name, driver->path_.string()));
  }
  if (auto other = findDriverImage(reinterpret_cast<const void*>(entry))) {
    dlclose(driver->handle_);
    driver->handle_ = nullptr;
    throw DriverLoadError(LoadFailure::AlreadyLoaded, name,
                          fmt::format("cannot load driver {}: {} is already loaded as driver {}", name,
                                      driver->path_.string(), other->name));
  }

  // 3. Attribution: from here on, calls from the image are the driver's.
  driver->image_ = std::make_shared<DriverImage>();
  driver->image_->name = name;
  driver->image_->path = driver->path_.string();
  driver->image_->base = base;
  driver->image_->end = end;
  driver->registration_ = std::make_unique<DriverImageRegistration>(driver->image_);

  // 4. The driver object, and DriverEntry.
  std::u16string service(name.begin(), name.end());
  driver->driverObject_ = createDriverObject(service, entry, driver->image_.get());
  log().info("loaded driver {} from {} at {:#x}-{:#x}", name, driver->path_.string(), base, end);
  if (traceEnabled()) traceEmit(TraceCategory::Driver, name, fmt::format("loaded from {}", driver->path_.string()));

  NTSTATUS status = callDriverEntry(driver->driverObject_.get(), serviceRegistryPath(name));
  if (!NT_SUCCESS(status)) {
    // Windows unmaps a driver whose DriverEntry failed without calling its Unload routine.
    auto leftovers = driverDevices(driver->driverObject_.get());
    driver->driverObject_.reset();
    auto leaks = collectLeaks(name, driver->path_, *driver->image_);
    if (!leaks.empty()) log().warn("{}", leaks.format());
    if (leftovers.empty() && leaks.callbacks.empty()) {
      dlclose(driver->handle_);
    }
    driver->handle_ = nullptr;
    driver->registration_.reset();
    if (!leaks.resources.empty() || !leftovers.empty()) retireImage(driver->image_);
    throw DriverLoadError(LoadFailure::DriverEntryFailed, name,
                          fmt::format("cannot load driver {}: its DriverEntry failed with {}", name, statusName(status)),
                          {}, status);
  }
  return driver;
}

LoadedDriver::~LoadedDriver() {
  if (!loaded()) return;
  if (!driverDevices(driverObject_.get()).empty()) {
    // Refused to unload (reported already): the devices keep the driver object and the
    // image alive, so everything stays mapped and attributed.
    log().error("driver {} destroyed with devices left: its image stays mapped", name_);
    (void)driverObject_.release();
    retireRegistration(std::move(registration_));
    retireImage(std::move(image_));
    return;
  }
  LeakReport report = unload();
  (void)report;  // unload() logged it
}

LeakReport LoadedDriver::unload() {
  LeakReport report;
  report.driver = name_;
  report.path = path_.string();
  if (!loaded()) return report;

  PDRIVER_OBJECT driverObject = driverObject_.get();
  auto devices = driverDevices(driverObject);
  if (!devices.empty()) {
    reportViolation({"driver.unload-with-devices", bugcheck::DriverUnloadedWithoutCancellingPendingOperations,
                     reinterpret_cast<std::uintptr_t>(driverObject), devices.size()},
                    nullptr,
                    fmt::format("driver {} cannot be unloaded: {} device object{} still exist{} (first: {})", name_,
                                devices.size(), devices.size() == 1 ? "" : "s", devices.size() == 1 ? "s" : "",
                                describeDevice(devices.front())));
    report.imageKeptMapped = true;
    return report;
  }

  if (!callDriverUnload(driverObject)) {
    log().warn("driver {} has no Unload routine; releasing it anyway at shutdown", name_);
  }
  if (traceEnabled()) traceEmit(TraceCategory::Driver, name_, "unloaded");

  // Symbolise while the image is still mapped.
  report = collectLeaks(name_, path_, *image_);
  driverObject_.reset();

  // A callback still armed in the image would jump into unmapped memory: keep it mapped.
  report.imageKeptMapped = !report.callbacks.empty();
  if (!report.imageKeptMapped) {
    // The driver's own callbacks are gone, but a DPC of another component (the USB bus
    // completing an IRP) may be running the driver's completion routine right now.
    ke::drainDpcs();
    dlclose(handle_);
  }
  handle_ = nullptr;
  registration_.reset();
  if (!report.resources.empty()) retireImage(image_);
  image_.reset();

  if (report.empty()) {
    log().info("unloaded driver {}: no leaks", name_);
  } else {
    log().warn("{}", report.format());
  }
  return report;
}

}  // namespace ndishost::nt::pnp
