#include "link/pcap_writer.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>

#include "link/link_error.hpp"
#include "link/link_log.hpp"

namespace ndishost::link {
namespace {

constexpr std::uint32_t kMagicMicroseconds = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNanoseconds = 0xa1b23c4d;
constexpr std::uint16_t kVersionMajor = 2;
constexpr std::uint16_t kVersionMinor = 4;

template <std::size_t N, typename T>
void putLittleEndian(std::array<std::byte, N>& out, std::size_t offset, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
}

}  // namespace

std::unique_ptr<PcapWriter> PcapWriter::create(const std::filesystem::path& path, PcapOptions options) {
  if (options.snapshotLength == 0) throw LinkError("pcap: snapshot length must not be 0");
  if (options.linkType == PcapLinkType::UsbLinuxMmapped && options.snapshotLength < UsbmonEvent::kHeaderSize)
    throw LinkError("pcap: a usbmon capture needs a snapshot length of at least 64");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw LinkError(systemErrorText("pcap: cannot create '" + path.string() + "'", errno));
  std::unique_ptr<PcapWriter> writer(new PcapWriter(path, options, file));

  std::array<std::byte, 24> header{};
  putLittleEndian(header, 0,
                  options.precision == PcapTimePrecision::Nanoseconds ? kMagicNanoseconds : kMagicMicroseconds);
  putLittleEndian(header, 4, kVersionMajor);
  putLittleEndian(header, 6, kVersionMinor);
  // 8: thiszone and 12: sigfigs stay 0: timestamps are UTC.
  putLittleEndian(header, 16, options.snapshotLength);
  putLittleEndian(header, 20, static_cast<std::uint32_t>(options.linkType));
  std::lock_guard lock(writer->mutex_);
  if (!writer->writeLocked(header)) throw LinkError("pcap: cannot write the file header of '" + path.string() + "'");
  return writer;
}

PcapWriter::PcapWriter(std::filesystem::path path, PcapOptions options, std::FILE* file)
    : path_(std::move(path)), options_(options), file_(file) {
  // Records are small; a big buffer turns many appends into one write.
  std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 16);
}

PcapWriter::~PcapWriter() { close(); }

bool PcapWriter::writeLocked(std::span<const std::byte> bytes) {
  if (!file_ || failed_) return false;
  if (bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) == bytes.size()) return true;
  failed_ = true;
  linkLogger().error("pcap: writing '{}' failed; capture stopped", path_.string());
  return false;
}

bool PcapWriter::append(std::span<const std::span<const std::byte>> parts, std::uint32_t originalLength,
                        timespec when) {
  std::size_t total = 0;
  for (const auto& part : parts) total += part.size();
  const auto captured = static_cast<std::uint32_t>(std::min<std::size_t>(total, options_.snapshotLength));
  std::array<std::byte, 16> record{};
  const auto fraction = options_.precision == PcapTimePrecision::Nanoseconds ? when.tv_nsec : when.tv_nsec / 1000;
  putLittleEndian(record, 0, static_cast<std::uint32_t>(when.tv_sec));
  putLittleEndian(record, 4, static_cast<std::uint32_t>(fraction));
  putLittleEndian(record, 8, captured);
  putLittleEndian(record, 12, std::max<std::uint32_t>(originalLength, static_cast<std::uint32_t>(total)));

  std::lock_guard lock(mutex_);
  if (!writeLocked(record)) return false;
  std::size_t remaining = captured;
  for (const auto& part : parts) {
    const std::size_t take = std::min(remaining, part.size());
    if (!writeLocked(part.first(take))) return false;
    remaining -= take;
  }
  ++records_;
  return true;
}

bool PcapWriter::append(std::span<const std::byte> packet) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::span<const std::byte> parts[] = {packet};
  return append(parts, static_cast<std::uint32_t>(packet.size()), now);
}

bool PcapWriter::append(const UsbmonEvent& event) {
  if (options_.linkType != PcapLinkType::UsbLinuxMmapped) {
    linkLogger().error("pcap: usbmon record appended to non-USB capture '{}'", path_.string());
    return false;
  }
  const auto dataCaptured = static_cast<std::uint32_t>(
      std::min<std::size_t>(event.data().size(), options_.snapshotLength - UsbmonEvent::kHeaderSize));
  const auto header = event.headerCapturing(dataCaptured);
  const std::span<const std::byte> parts[] = {header, event.data().first(dataCaptured)};
  return append(parts, static_cast<std::uint32_t>(UsbmonEvent::kHeaderSize + event.data().size()), event.time());
}

void PcapWriter::flush() {
  std::lock_guard lock(mutex_);
  if (file_ && std::fflush(file_.get()) != 0 && !failed_) {
    failed_ = true;
    linkLogger().error("pcap: flushing '{}' failed; capture stopped", path_.string());
  }
}

void PcapWriter::close() {
  std::lock_guard lock(mutex_);
  if (!file_) return;
  if (std::fclose(file_.release()) != 0 && !failed_)
    linkLogger().error("pcap: closing '{}' failed; the capture may be incomplete", path_.string());
}

std::uint64_t PcapWriter::recordsWritten() const {
  std::lock_guard lock(mutex_);
  return records_;
}

}  // namespace ndishost::link
