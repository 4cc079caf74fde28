// The one output layer: how every file dgeval writes reaches its target, and the one stop flag
// that every long loop polls. docs/FORMATS.md, "Guarantees on output", is the user's view.
//
//  * A target is classified before anything is written (classify_output): "-" is standard
//    output; /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N are the process's own
//    descriptor; an existing character device, FIFO or socket is opened and written directly,
//    and every write error (ENOSPC from /dev/full) is reported; anything else is a regular file,
//    new or existing, reached through any symlinks (the link stays a link), and replaced
//    atomically and durably: the data goes to an unnamed file in the target's folder (O_TMPFILE,
//    or a hidden named file where the file system lacks it), which is fsynced, linked under a
//    temporary name, renamed over the target, and the folder fsynced. An existing target keeps
//    its permission bits (and owner and group when run as root); a new one gets 0666 & ~umask.
//  * A run stages every output in one OutputSet and commits them together, in the order they
//    were added, only once all of them are complete. Destroying the set without commit()
//    discards them: nothing of a failed or interrupted run reaches a regular file.
//  * Outputs to commit are not "state to keep": a later resumable-run journal would be a file of
//    its own, written durably as the run goes, that neither discard() nor the exit path deletes.
//    Only what the temporary-name registry below holds is ever deleted on the way out.
#pragma once

#include <sys/types.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dgeval/error.hpp"

namespace dgeval {

// ---------------------------------------------------------------------------------------------
// Stop requests: one flag for the process.
// ---------------------------------------------------------------------------------------------

/// Records a request to stop (async-signal-safe: a signal handler calls it). The first signal
/// number is kept; the count of requests grows with each call.
void request_stop(int signal_number) noexcept;
/// The signal number of the first stop request, or 0 when none was made.
int stop_signal() noexcept;
/// How many stop requests were made (a second Ctrl-C is the second).
int stop_requests() noexcept;
/// Throws dgeval::cancelled when a stop was requested. Long loops call it between steps.
void throw_if_stop_requested();
/// Forgets every stop request (tests, and the Python module between calls).
void clear_stop_requests() noexcept;

/// True while an OutputSet is renaming its outputs into place: a signal handler that would
/// end the process at once must wait for the commit to finish (it is a handful of renames).
bool commit_in_progress() noexcept;

/// Removes every temporary file name an output currently holds (async-signal-safe; for a
/// signal handler about to _exit). Unnamed (O_TMPFILE / unlinked) staging needs no removal.
void remove_temporary_names() noexcept;

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

enum class OutputKind {
  standard_output,  ///< "-": descriptor 1
  descriptor,       ///< /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: that open descriptor
  stream,           ///< an existing character device, FIFO or socket: opened, written directly
  regular,          ///< a regular file (new, or existing), replaced atomically
};

/// A path that cannot name an output at all (a directory, a block device, an empty path): a
/// mistake on the command line rather than a failure of the file system.
class unusable_output : public error {
 public:
  explicit unusable_output(const std::string& what) : error(what) {}
};

/// What a path given as an output names. Nothing is created or opened for writing.
struct OutputTarget {
  std::string path;  ///< as given
  OutputKind kind = OutputKind::regular;
  std::string file;     ///< regular: the file replaced (symlinks resolved); stream: the path opened
  int descriptor = -1;  ///< standard_output / descriptor: the process's descriptor
  bool exists = false;  ///< the target exists (always true but for a new regular file)
  dev_t device = 0;     ///< identity of an existing target (st_dev, st_ino)
  ino_t inode = 0;
  bool character_device = false;  ///< an existing character device (/dev/null, a terminal)
};

/// Classifies `path`. Throws unusable_output for a directory, a block device or an empty path,
/// and dgeval::error naming the path when it cannot be reached: a folder that does not exist,
/// a symlink loop, a descriptor that is not open.
OutputTarget classify_output(const std::string& path);

/// True when `a` and `b` name the same file: the same (st_dev, st_ino) when both exist, else
/// the same path once symlinks are resolved. "-" is standard input when `a_is_input` (else
/// standard output); an input that cannot be found never matches.
bool same_file(const std::string& input_or_output, bool a_is_input, const OutputTarget& b);
/// True when two outputs would write the same file (character devices such as /dev/null may
/// take several outputs and are never "the same").
bool same_file(const OutputTarget& a, const OutputTarget& b);

// ---------------------------------------------------------------------------------------------
// Staged outputs
// ---------------------------------------------------------------------------------------------

class OutputSet;

/// One output of a run, staged until its OutputSet commits.
class StagedOutput {
 public:
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  const OutputTarget& target() const { return target_; }
  /// The path as given, escaped for messages.
  std::string name() const;
  /// A buffered stream over the staging (a regular file) or the target itself (standard output,
  /// a descriptor, a stream). Write errors throw dgeval::error naming the path.
  std::ostream& stream();
  /// A seekable descriptor positioned at 0, for writers that go back (.npy headers, zip): the
  /// staging file of a regular target, else an unnamed temporary file that commit() copies to
  /// the target. Use stream() or this, not both.
  int seekable_descriptor();
  /// A folder on the target's file system for unnamed scratch files (the target's folder, or
  /// the temporary folder for a non-regular target).
  const std::string& scratch_folder() const { return scratch_; }

 private:
  friend class OutputSet;
  explicit StagedOutput(OutputTarget target);
  void open_staging();
  void flush_stream();
  void prepare();              ///< everything that may fail or take time before the renames
  void link_temporary_name();  ///< regular: gives the staging a temporary name
  void rename_into_place();    ///< regular: renames it over the target
  void discard() noexcept;

  OutputTarget target_;
  std::string scratch_;
  int fd_ = -1;            ///< staging (regular), or the target (others)
  int seekable_fd_ = -1;   ///< non-regular targets: the unnamed file copied at commit
  int dir_fd_ = -1;        ///< regular: the target's folder
  std::string temp_name_;  ///< regular: the temporary name (fallback staging, or linked at commit)
  int registry_slot_ = -1;
  bool unnamed_ = false;  ///< regular: the staging is an O_TMPFILE
  bool committed_ = false;
  struct Buffer;
  std::unique_ptr<Buffer> buffer_;
  std::unique_ptr<std::ostream> stream_;
};

/// Every output of a run: added before the work starts (add() refuses a target that cannot be
/// written, before anything is computed), committed together at the end.
class OutputSet {
 public:
  OutputSet();
  ~OutputSet();  ///< discards what was not committed
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  /// Classifies `path` and opens its staging. Throws dgeval::error naming the path.
  StagedOutput& add(const std::string& path);
  /// Commits every output, in the order added: first the steps that can fail or take time
  /// (copies to non-regular targets, fsync of each staging file), polling the stop flag; then,
  /// with stops deferred, a temporary name for each staging file, the renames, and an fsync
  /// of each folder. Throws dgeval::cancelled (nothing committed) when a stop was requested
  /// before the renames began.
  void commit();
  /// Discards every output not committed (closing its staging; a temporary name is removed).
  void discard() noexcept;
  bool committed() const { return committed_; }

 private:
  std::vector<std::unique_ptr<StagedOutput>> outputs_;
  bool committed_ = false;
};

/// An unnamed temporary file in `folder` (O_TMPFILE, or created and unlinked at once), open for
/// reading and writing: it disappears when closed, whatever happens to the process.
int unnamed_file(const std::string& folder);

namespace detail {
/// Tests: stage regular outputs in named hidden files instead of O_TMPFILE (the fallback for
/// file systems without it), and/or give O_TMPFILE files their name by copying instead of linkat.
void set_output_fallbacks(bool named_staging, bool copy_instead_of_link);
/// Tests: `hook` runs as an NpzWriter starts packing its archive (empty: none), e.g. to request a
/// stop at that exact point.
void set_npz_pack_hook(std::function<void()> hook);
}  // namespace detail

}  // namespace dgeval
