// Network namespaces by name (/run/netns/<name>, as `ip netns add` creates them).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace ndishost::link {

// Throws LinkError unless `name` can name a file in /run/netns.
void validateNetworkNamespaceName(std::string_view name);

// Runs `work` on a short-lived helper thread that has joined the named network namespace
// and returns when it has. Sockets created by `work` stay in that namespace for their
// whole life; the process's other threads are unaffected. Exceptions thrown by `work`
// are rethrown here. Throws LinkError when the namespace does not exist or cannot be
// entered.
void runInNetworkNamespace(const std::string& name, const std::function<void()>& work);

}  // namespace ndishost::link
