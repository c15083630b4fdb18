// What a driver image imports, read from its ELF file before anything maps it.
//
// dlopen(RTLD_NOW) stops at the first symbol it cannot bind and names only that one, so a
// driver written against DDIs ndishost lacks would be fixed one symbol per attempt (the
// NDIS-on-Linux predecessor's "unknown symbol" trap). Reading the dynamic symbol table
// ourselves lets the loader refuse the driver once, naming every missing import.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ndishost::nt::pnp {

struct ElfImports {
  std::vector<std::string> undefinedSymbols;  // strong (non-weak) undefined, sorted, unique
  std::vector<std::string> neededLibraries;   // DT_NEEDED, in file order
  std::vector<std::string> runPath;           // DT_RUNPATH (or DT_RPATH) entries, $ORIGIN expanded
};

// Parses `path` as an ELF64 shared object for this machine. Throws std::runtime_error with
// a sentence naming the file when it is not one (missing, truncated, wrong class/machine).
ElfImports readElfImports(const std::filesystem::path& path);

// The subset of `imports.undefinedSymbols` that nothing would provide: neither an object
// already loaded in the process (global scope) nor the image's own DT_NEEDED libraries.
// Libraries that cannot be found are returned in `missingLibraries`.
struct UnresolvedImports {
  std::vector<std::string> symbols;
  std::vector<std::string> missingLibraries;
  bool empty() const { return symbols.empty() && missingLibraries.empty(); }
};
UnresolvedImports findUnresolvedImports(const ElfImports& imports);

}  // namespace ndishost::nt::pnp
