#include "link/netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <exception>
#include <thread>

#include "link/link_error.hpp"
#include "link/unique_fd.hpp"

namespace ndishost::link {

void validateNetworkNamespaceName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    throw LinkError("invalid network namespace name '" + std::string(name) + "'");
}

void runInNetworkNamespace(const std::string& name, const std::function<void()>& work) {
  validateNetworkNamespaceName(name);
  const std::string path = "/run/netns/" + name;
  UniqueFd nsFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!nsFd) {
    const int err = errno;
    if (err == ENOENT)
      throw LinkError("no network namespace named '" + name + "' (" + path + " does not exist)");
    throw LinkError(systemErrorText("cannot open network namespace '" + name + "' (" + path + ")", err));
  }
  std::exception_ptr failure;
  // setns() changes only the calling thread's namespace: a throw-away thread keeps every
  // other thread of the process where it was.
  std::thread helper([&] {
    try {
      if (::setns(nsFd.get(), CLONE_NEWNET) != 0) {
        const int err = errno;
        if (err == EPERM)
          throw LinkError("permission denied entering network namespace '" + name +
                          "' (needs CAP_SYS_ADMIN)");
        throw LinkError(systemErrorText("cannot enter network namespace '" + name + "'", err));
      }
      work();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  helper.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ndishost::link
