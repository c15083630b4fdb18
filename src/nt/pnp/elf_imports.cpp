#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <fmt/format.h>

#include "nt/pnp/elf_imports.hpp"

namespace ndishost::nt::pnp {
namespace {

// A read-only mapping of the whole file; every structure is bounds-checked against it
// because the file is untrusted input (a truncated or foreign file must be an error, not
// a crash).
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(fmt::format("cannot open it: {}", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
      ::close(fd);
      fail("it is empty or cannot be read");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (data_ == MAP_FAILED) {
      data_ = nullptr;
      fail(fmt::format("cannot map it: {}", std::strerror(errno)));
    }
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  template <typename T>
  std::span<const T> array(std::uint64_t offset, std::uint64_t count) const {
    if (offset > size_ || count > (size_ - offset) / sizeof(T)) fail("it is truncated or corrupt");
    return {reinterpret_cast<const T*>(static_cast<const char*>(data_) + offset), static_cast<std::size_t>(count)};
  }
  template <typename T>
  const T& at(std::uint64_t offset) const {
    return array<T>(offset, 1)[0];
  }

  std::size_t size() const { return size_; }

  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(fmt::format("{} is not a loadable driver image: {}", path_.string(), why));
  }

 private:
  std::filesystem::path path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// A string table section, read with the bounds of that section only.
class StringTable {
 public:
  StringTable(const MappedFile& file, const Elf64_Shdr& section)
      : file_(file), chars_(file.array<char>(section.sh_offset, section.sh_size)) {}

  std::string_view at(std::uint64_t index) const {
    if (index >= chars_.size()) file_.fail("a symbol name lies outside its string table");
    auto rest = chars_.subspan(static_cast<std::size_t>(index));
    auto end = std::find(rest.begin(), rest.end(), '\0');
    if (end == rest.end()) file_.fail("a symbol name is not terminated");
    return {rest.data(), static_cast<std::size_t>(end - rest.begin())};
  }

 private:
  const MappedFile& file_;
  std::span<const char> chars_;
};

std::vector<std::string> splitRunPath(std::string_view text, const std::filesystem::path& origin) {
  std::vector<std::string> dirs;
  while (!text.empty()) {
    auto colon = text.find(':');
    std::string dir(text.substr(0, colon));
    for (std::string_view token : {"${ORIGIN}", "$ORIGIN"}) {
      for (auto pos = dir.find(token); pos != std::string::npos; pos = dir.find(token)) {
        dir.replace(pos, token.size(), origin.string());
      }
    }
    if (!dir.empty()) dirs.push_back(std::move(dir));
    if (colon == std::string_view::npos) break;
    text.remove_prefix(colon + 1);
  }
  return dirs;
}

struct DlCloser {
  void operator()(void* handle) const {
    if (handle != nullptr) dlclose(handle);
  }
};
using LibraryHandle = std::unique_ptr<void, DlCloser>;

// The driver's DT_NEEDED libraries as the dynamic linker would find them for it: already
// loaded ones by name, others through the driver's run path, then the default search.
LibraryHandle openNeededLibrary(const std::string& name, const std::vector<std::string>& runPath) {
  if (void* loaded = dlopen(name.c_str(), RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD)) return LibraryHandle(loaded);
  if (name.find('/') == std::string::npos) {
    for (const auto& dir : runPath) {
      auto candidate = std::filesystem::path(dir) / name;
      std::error_code ec;
      if (!std::filesystem::exists(candidate, ec)) continue;
      if (void* handle = dlopen(candidate.c_str(), RTLD_LAZY | RTLD_LOCAL)) return LibraryHandle(handle);
    }
  }
  return LibraryHandle(dlopen(name.c_str(), RTLD_LAZY | RTLD_LOCAL));
}

}  // namespace

ElfImports readElfImports(const std::filesystem::path& path) {
  MappedFile file(path);
  auto magic = file.size() >= SELFMAG ? file.array<char>(0, SELFMAG) : std::span<const char>();
  if (magic.empty() || std::memcmp(magic.data(), ELFMAG, SELFMAG) != 0) file.fail("it is not an ELF file");
  const auto& header = file.at<Elf64_Ehdr>(0);
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    file.fail("it is not a 64-bit little-endian ELF file");
  }
  if (header.e_machine != EM_X86_64) file.fail(fmt::format("it is built for ELF machine {}, not x86-64", header.e_machine));
  if (header.e_type != ET_DYN) file.fail("it is not a shared object (build it with ndishost_add_driver)");
  if (header.e_shentsize != sizeof(Elf64_Shdr)) file.fail("its section header size is unexpected");

  auto sections = file.array<Elf64_Shdr>(header.e_shoff, header.e_shnum);
  auto linkedStrings = [&](const Elf64_Shdr& section) {
    if (section.sh_link >= sections.size()) file.fail("a section links to a missing string table");
    return StringTable(file, sections[section.sh_link]);
  };

  ElfImports imports;
  bool sawDynsym = false;
  for (const auto& section : sections) {
    if (section.sh_type == SHT_DYNSYM) {
      sawDynsym = true;
      if (section.sh_entsize != sizeof(Elf64_Sym)) file.fail("its dynamic symbol entries have an unexpected size");
      auto strings = linkedStrings(section);
      auto symbols = file.array<Elf64_Sym>(section.sh_offset, section.sh_size / sizeof(Elf64_Sym));
      for (const auto& sym : symbols) {
        if (sym.st_shndx != SHN_UNDEF || sym.st_name == 0) continue;
        if (ELF64_ST_BIND(sym.st_info) == STB_WEAK) continue;  // optional by definition
        imports.undefinedSymbols.emplace_back(strings.at(sym.st_name));
      }
    } else if (section.sh_type == SHT_DYNAMIC) {
      auto strings = linkedStrings(section);
      auto entries = file.array<Elf64_Dyn>(section.sh_offset, section.sh_size / sizeof(Elf64_Dyn));
      std::vector<std::string> rpath;
      for (const auto& entry : entries) {
        if (entry.d_tag == DT_NULL) break;
        if (entry.d_tag == DT_NEEDED) imports.neededLibraries.emplace_back(strings.at(entry.d_un.d_val));
        if (entry.d_tag == DT_RUNPATH) imports.runPath = splitRunPath(strings.at(entry.d_un.d_val), path.parent_path());
        if (entry.d_tag == DT_RPATH) rpath = splitRunPath(strings.at(entry.d_un.d_val), path.parent_path());
      }
      if (imports.runPath.empty()) imports.runPath = std::move(rpath);  // DT_RUNPATH wins when both exist
    }
  }
  if (!sawDynsym) file.fail("it has no dynamic symbol table");
  std::sort(imports.undefinedSymbols.begin(), imports.undefinedSymbols.end());
  imports.undefinedSymbols.erase(std::unique(imports.undefinedSymbols.begin(), imports.undefinedSymbols.end()),
                                 imports.undefinedSymbols.end());
  return imports;
}

UnresolvedImports findUnresolvedImports(const ElfImports& imports) {
  UnresolvedImports result;
  std::vector<LibraryHandle> libraries;
  for (const auto& name : imports.neededLibraries) {
    if (auto handle = openNeededLibrary(name, imports.runPath)) {
      libraries.push_back(std::move(handle));
    } else {
      result.missingLibraries.push_back(name);
    }
  }
  for (const auto& symbol : imports.undefinedSymbols) {
    // dlsym returns NULL for a symbol whose value is 0 too; dlerror() tells the two apart.
    auto provided = [&](void* scope) {
      dlerror();
      void* address = dlsym(scope, symbol.c_str());
      return address != nullptr || dlerror() == nullptr;
    };
    bool found = provided(RTLD_DEFAULT) ||
                 std::any_of(libraries.begin(), libraries.end(), [&](const auto& lib) { return provided(lib.get()); });
    if (!found) result.symbols.push_back(symbol);
  }
  return result;
}

}  // namespace ndishost::nt::pnp
