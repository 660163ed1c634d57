// The human CLI (CLI11), used when CNI_COMMAND is not set.
#pragma once

namespace sixrd::cni {

// Parses argv and runs one subcommand. Output goes to stdout, diagnostics to stderr.
// Returns the exit status; never throws.
int runCli(int argc, char** argv) noexcept;

}  // namespace sixrd::cni
