// The object namespace, as far as drivers use it: named device objects ("\Device\X")
// and the symbolic links that point at them ("\DosDevices\X", "\??\X"). Names compare
// case-insensitively, as Windows' object manager does for these directories.
#pragma once

#include <wdm.h>

#include <string>
#include <string_view>

namespace ndishost::nt {

// Callers hold ioDatabaseLock() for the insert/remove functions.
NTSTATUS namespaceInsertDevice(std::u16string_view name, PDEVICE_OBJECT device);
void namespaceRemoveDevice(std::u16string_view name);

// Take the lock themselves.
NTSTATUS namespaceCreateLink(std::u16string_view link, std::u16string_view target);
NTSTATUS namespaceDeleteLink(std::u16string_view link);

// The named device, following symbolic links, with a reference the caller drops with
// ObDereferenceObject; null when nothing by that name exists.
PDEVICE_OBJECT namespaceReferenceDevice(std::u16string_view name);

// The characters of a UNICODE_STRING (empty for null).
std::u16string_view toView(PCUNICODE_STRING text);

}  // namespace ndishost::nt
