// Classic pcap files (the format every tool reads): Ethernet frames at the top edge of an
// emulated NIC, usbmon URB records at its bottom edge.
//
// Records are appended from any thread; each append writes a whole record under one lock,
// so records never interleave. Packets longer than the snapshot length are cut to it (the
// record keeps the original length, as tcpdump -s does). A write error is logged once and
// turns the writer off; appends then return false.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>

#include "link/usbmon_event.hpp"

namespace ndishost::link {

enum class PcapLinkType : std::uint32_t {
  Ethernet = 1,          // LINKTYPE_ETHERNET
  UsbLinuxMmapped = 220  // LINKTYPE_USB_LINUX_MMAPPED: 64-byte usbmon header + data
};

enum class PcapTimePrecision { Microseconds, Nanoseconds };

inline constexpr std::uint32_t kWholePacketSnapshotLength = 262144;

struct PcapOptions {
  PcapLinkType linkType = PcapLinkType::Ethernet;
  std::uint32_t snapshotLength = kWholePacketSnapshotLength;  // at least 64 for usbmon records
  PcapTimePrecision precision = PcapTimePrecision::Microseconds;
};

class PcapWriter {
 public:
  // Creates (truncates) the file and writes the file header. Throws LinkError.
  static std::unique_ptr<PcapWriter> create(const std::filesystem::path& path, PcapOptions options = {});
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // One record whose bytes are `parts` back to back; `originalLength` is the packet's
  // length before any capture limit (at least the parts' total).
  bool append(std::span<const std::span<const std::byte>> parts, std::uint32_t originalLength, timespec when);
  // One whole packet, time-stamped now.
  bool append(std::span<const std::byte> packet);
  // One usbmon record (the writer must be UsbLinuxMmapped); len_cap is lowered when the
  // snapshot length cuts the data, so the record stays self-consistent.
  bool append(const UsbmonEvent& event);

  void flush();
  // Flushes and closes; later appends return false. Also done by the destructor.
  void close();

  PcapLinkType linkType() const { return options_.linkType; }
  std::uint32_t snapshotLength() const { return options_.snapshotLength; }
  std::uint64_t recordsWritten() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  PcapWriter(std::filesystem::path path, PcapOptions options, std::FILE* file);
  bool writeLocked(std::span<const std::byte> bytes);

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };

  const std::filesystem::path path_;
  const PcapOptions options_;
  mutable std::mutex mutex_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::uint64_t records_ = 0;
  bool failed_ = false;
};

}  // namespace ndishost::link
