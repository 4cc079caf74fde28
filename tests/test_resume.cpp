// Outputs reproducible to the byte, and resumable runs (docs/FORMATS.md, "Reproducible outputs"
// and "The journal of a resumable run"):
//  * the same command twice gives byte-identical files, for every output format of `evaluate`
//    and `generate`; every .npz member carries the same fixed metadata (no time stamp);
//  * `evaluate` killed with SIGKILL at seeded random points (the test hook DGEVAL_TEST_KILL_AT,
//    no timing) and continued with --resume gives the bytes of an uninterrupted run, with no
//    range lost or repeated; a changed command line or input, a corrupt or foreign journal, are
//    refused with a clear message.
// DGEVAL_TEST_SEED (environment) replays a failure: the seed is printed with every failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "test_cli_util.hpp"

using dgeval_test::cli;
using dgeval_test::has;
using dgeval_test::q;
using dgeval_test::read_file;
using dgeval_test::TempDir;
using dgeval_test::write_file;

namespace {

/// Runs `dgeval ARGS` (shell-quoted) with `env` (VAR=VALUE ...) in front. A child killed by a
/// signal N exits 128 + N (the shell's status).
dgeval_test::RunResult run(const std::string& args, const std::string& env = "") {
  dgeval_test::RunResult r;
  char out_name[] = "/tmp/dgeval_out_XXXXXX", err_name[] = "/tmp/dgeval_err_XXXXXX";
  const int o = ::mkstemp(out_name), e = ::mkstemp(err_name);
  ::close(o);
  ::close(e);
  const std::string cmd = "{ " + env + " '" + cli() + "' " + args + "; } >" + out_name + " 2>" + err_name;
  const int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1000 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
  r.out = read_file(out_name);
  r.err = read_file(err_name);
  ::unlink(out_name);
  ::unlink(err_name);
  return r;
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

std::uint32_t le(const std::string& s, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(s.at(at + static_cast<std::size_t>(i)));
  return v;
}

/// Every member of the zip archive `zip` (no archive comment) has the fixed metadata: DOS time 0,
/// date 1980-01-01 (0x21), Unix attributes 0100644, no extra fields (central and local headers).
void expect_fixed_zip_metadata(const std::string& zip, const std::string& what) {
  ASSERT_GE(zip.size(), 22u) << what;
  const std::size_t eocd = zip.size() - 22;
  ASSERT_EQ(le(zip, eocd, 4), 0x06054b50u) << what << ": no end of central directory";
  const std::uint32_t entries = le(zip, eocd + 10, 2);
  std::size_t at = le(zip, eocd + 16, 4);
  ASSERT_GT(entries, 0u) << what;
  for (std::uint32_t i = 0; i < entries; ++i) {
    ASSERT_EQ(le(zip, at, 4), 0x02014b50u) << what << ": central header " << i;
    EXPECT_EQ(le(zip, at + 12, 2), 0u) << what << ": member " << i << " DOS time";
    EXPECT_EQ(le(zip, at + 14, 2), 0x21u) << what << ": member " << i << " DOS date";
    EXPECT_EQ(le(zip, at + 30, 2), 0u) << what << ": member " << i << " extra field (central)";
    EXPECT_EQ(le(zip, at + 38, 4), 0100644u << 16) << what << ": member " << i << " external attributes";
    const std::size_t local = le(zip, at + 42, 4);
    EXPECT_EQ(le(zip, local, 4), 0x04034b50u) << what << ": local header " << i;
    EXPECT_EQ(le(zip, local + 10, 2), 0u) << what << ": member " << i << " local DOS time";
    EXPECT_EQ(le(zip, local + 12, 2), 0x21u) << what << ": member " << i << " local DOS date";
    EXPECT_EQ(le(zip, local + 28, 2), 0u) << what << ": member " << i << " extra field (local)";
    at += 46 + le(zip, at + 28, 2) + le(zip, at + 30, 2) + le(zip, at + 32, 2);
  }
}

/// Runs `args` (with {DIR} naming the folder) twice, into two folders, and expects the files
/// `outputs` to be byte-identical; returns the first folder's copies.
void expect_same_bytes_twice(const std::string& args, const std::vector<std::string>& outputs) {
  TempDir d;
  std::vector<std::string> first;
  for (const char* sub : {"one", "two"}) {
    std::filesystem::create_directories(d.path() / sub);
    std::string a = args;
    for (std::size_t at; (at = a.find("{DIR}")) != std::string::npos;) a.replace(at, 5, (d.path() / sub).string());
    const auto r = run(a);
    ASSERT_EQ(r.status, 0) << a << "\n" << r.err;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const std::string bytes = read_file((d.path() / sub / outputs[i]).string());
      ASSERT_FALSE(bytes.empty()) << a << ": " << outputs[i];
      if (first.size() < outputs.size()) {
        first.push_back(bytes);
      } else {
        EXPECT_TRUE(bytes == first[i]) << a << ": " << outputs[i] << " differs between two runs";
      }
      if (outputs[i].size() > 4 && outputs[i].substr(outputs[i].size() - 4) == ".npz") {
        expect_fixed_zip_metadata(bytes, a + ": " + outputs[i]);
      }
    }
  }
}

}  // namespace

TEST(Reproducible, EvaluateOutputsAreTheSameBytesEveryRun) {
  SKIP_WITHOUT_CLI();
  const std::string base = "evaluate --random 3000 --dims 3x2x2 --seed 5 --backend cpu -q --chunk-games 1000 ";
  expect_same_bytes_twice(base + "-o {DIR}/r.csv --summary-output {DIR}/s.json", {"r.csv", "s.json"});
  expect_same_bytes_twice(base + "-o {DIR}/r.jsonl", {"r.jsonl"});
  expect_same_bytes_twice(base + "-o {DIR}/r.txt", {"r.txt"});
  expect_same_bytes_twice(base + "-o {DIR}/r.npz --list-equilibria", {"r.npz"});
  expect_same_bytes_twice(base + "-o {DIR}/r.npz --compress --float32-results", {"r.npz"});
}

TEST(Reproducible, GenerateOutputsAreTheSameBytesEveryRun) {
  SKIP_WITHOUT_CLI();
  const std::string base = "generate --dims 3x3 --games 500 --seed 9 --generator delegation --ia 0.5 --backend cpu -q ";
  expect_same_bytes_twice(base + "-o {DIR}/g.npz", {"g.npz"});
  expect_same_bytes_twice(base + "-o {DIR}/g.npz --compress --float32", {"g.npz"});
  expect_same_bytes_twice(base + "--agents {DIR}/a.npy --principals {DIR}/p.npy", {"a.npy", "p.npy"});
  expect_same_bytes_twice("generate --dims 3x3 --seed 2 -q --agents {DIR}/a.nfg --principals {DIR}/p.nfg",
                          {"a.nfg", "p.nfg"});
}

// ---- resume --------------------------------------------------------------------------------

namespace {

std::uint64_t test_seed() {
  const char* s = std::getenv("DGEVAL_TEST_SEED");
  if (s && *s) return std::strtoull(s, nullptr, 10);
  return 20261206;
}

// 4,000 games in chunks of 300: 14 ranges.
const char kRun[] = "evaluate --random 4000 --dims 3x3x2 --seed 11 --backend cpu --threads 1 --chunk-games 300 ";
constexpr int kRanges = 14;

/// How many ranges the "resuming from" note says were done.
int ranges_done_in_note(const std::string& err) {
  const std::size_t at = err.find("ranges (");
  if (at == std::string::npos) return -1;
  std::size_t start = err.rfind(": ", at);
  return std::atoi(err.c_str() + start + 2);
}

}  // namespace

TEST(Resume, KilledAtSeededRandomPointsThenResumedGivesTheSameBytes) {
  SKIP_WITHOUT_CLI();
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE("DGEVAL_TEST_SEED=" + std::to_string(seed) + " replays this test");
  std::mt19937_64 rng(seed);
  TempDir d;
  struct Format {
    std::string output, extra;
  };
  const std::vector<Format> formats = {{"r.csv", "--summary-output {DIR}/s.json"},
                                       {"r.npz", "--list-equilibria --summary-output {DIR}/s.json"},
                                       {"r.jsonl", ""}};
  for (const Format& f : formats) {
    const std::string dir = d / f.output.substr(2);  // a folder per format
    const std::string ref_dir = dir + "-ref";
    std::filesystem::create_directories(dir);
    std::filesystem::create_directories(ref_dir);
    auto args_in = [&](const std::string& folder) {
      std::string extra = f.extra;
      for (std::size_t at; (at = extra.find("{DIR}")) != std::string::npos;) extra.replace(at, 5, folder);
      return std::string(kRun) + "-o " + q(folder + "/" + f.output) + " " + extra;
    };
    const auto ref = run(args_in(ref_dir) + " -q");
    ASSERT_EQ(ref.status, 0) << ref.err;
    const std::vector<std::string> outputs = names_in(ref_dir);
    for (int trial = 0; trial < 3; ++trial) {
      SCOPED_TRACE(f.output + " trial " + std::to_string(trial));
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      // A first run killed at a random point, then resumed runs killed at random points, then
      // one that finishes. "part": the range's results written, its journal line not yet.
      int done = 0;  // ranges the journal holds
      bool first = true;
      for (int step = 0; step < 4; ++step) {
        const char* stages[] = {"part", "record", "load", "finish"};
        std::string stage = stages[rng() % 4];
        if (first && stage == "load") stage = "record";
        const int left = kRanges - done;
        int k = 1;
        if (stage == "load") k = done > 0 ? 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(done)) : 1;
        if (stage == "load" && done == 0) stage = "record";
        if (left == 0 && (stage == "part" || stage == "record")) stage = "finish";
        if (stage == "part" || stage == "record") k = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(left));
        const std::string hook = "DGEVAL_TEST_KILL_AT=" + stage + ":" + std::to_string(k);
        SCOPED_TRACE("step " + std::to_string(step) + ": " + hook);
        const auto r = run(args_in(dir) + (first ? "" : " --resume"), hook);
        ASSERT_EQ(r.status, 128 + 9) << r.err;
        if (!first) {
          EXPECT_EQ(ranges_done_in_note(r.err), done) << r.err;
        }
        if (stage == "part") done += k - 1;
        if (stage == "record") done += k;
        if (stage == "finish") done = kRanges;
        // Nothing lost: the journal holds exactly the ranges recorded before the kill.
        const std::string journal = read_file(dir + "/" + f.output + ".dgeval-journal/journal");
        int lines = 0;
        for (std::size_t at = 0; (at = journal.find("\ndone ", at)) != std::string::npos; ++at) ++lines;
        EXPECT_EQ(lines, done) << journal;
        first = false;
        if (stage == "finish") break;  // the outputs were committed, the journal not yet removed
      }
      const auto r = run(args_in(dir) + " --resume");
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(ranges_done_in_note(r.err), done) << r.err;
      EXPECT_EQ(names_in(dir), outputs) << "a journal or a staging file was left behind";
      for (const std::string& o : outputs) {
        EXPECT_TRUE(read_file(dir + "/" + o) == read_file(ref_dir + "/" + o))
            << o << " differs from the uninterrupted run";
      }
    }
  }
}

TEST(Resume, InterruptedRunWithoutResumeOrWithAnotherCommandIsRefused) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string out = " -o " + q(d / "r.csv");
  ASSERT_EQ(run(std::string(kRun) + out, "DGEVAL_TEST_KILL_AT=record:3").status, 137);
  // Without --resume: refused, the journal named.
  auto r = run(std::string(kRun) + out);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "r.csv.dgeval-journal") && has(r.err, "--resume")) << r.err;
  // Another command line: refused, saying so; the journal stays.
  r = run(std::string(kRun) + out + " --resume --cc 0.5");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "cannot resume") && has(r.err, "another command line")) << r.err;
  EXPECT_TRUE(std::filesystem::exists(d / "r.csv.dgeval-journal/journal"));
  // The same command with -q and --resume continues.
  r = run(std::string(kRun) + out + " --resume -q");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(names_in(d.path()), std::vector<std::string>{"r.csv"});
}

TEST(Resume, ChangedInputIsRefused) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  ASSERT_EQ(run("generate --dims 3x3 --games 900 --seed 1 -q -o " + q(d / "g.npz")).status, 0);
  const std::string cmd =
      "evaluate --input " + q(d / "g.npz") + " --backend cpu --chunk-games 200 -q -o " + q(d / "r.csv");
  ASSERT_EQ(run(cmd, "DGEVAL_TEST_KILL_AT=record:2").status, 137);
  ASSERT_EQ(run("generate --dims 3x3 --games 900 --seed 2 -q -o " + q(d / "g.npz")).status, 0);
  const auto r = run(cmd + " --resume");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "cannot resume") && has(r.err, "other input files")) << r.err;
}

TEST(Resume, CorruptOrForeignJournalIsRefused) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string out = " -o " + q(d / "r.csv");
  const std::string journal = d / "r.csv.dgeval-journal/journal";
  auto interrupted = [&] { ASSERT_EQ(run(std::string(kRun) + out, "DGEVAL_TEST_KILL_AT=record:3").status, 137); };
  // A done line changed: its checksum no longer matches.
  interrupted();
  std::string j = read_file(journal);
  const std::size_t at = j.find("done 300 300");
  ASSERT_NE(at, std::string::npos) << j;
  j[at + 5] = '4';
  write_file(journal, j);
  auto r = run(std::string(kRun) + out + " --resume");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err, "journal: line") && has(r.err, "corrupt")) << r.err;
  EXPECT_TRUE(std::filesystem::exists(journal)) << "a journal that cannot be read is reported, never deleted";
  std::filesystem::remove_all(d / "r.csv.dgeval-journal");
  // A part file changed: its CRC-32 no longer matches.
  interrupted();
  {
    std::string p = read_file(d / "r.csv.dgeval-journal/part-300");
    ASSERT_GT(p.size(), 100u);
    p[100] = static_cast<char>(p[100] ^ 1);
    write_file(d / "r.csv.dgeval-journal/part-300", p);
  }
  r = run(std::string(kRun) + out + " --resume");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err, "part-300") && has(r.err, "corrupt")) << r.err;
  std::filesystem::remove_all(d / "r.csv.dgeval-journal");
  // A foreign file where the journal should be.
  std::filesystem::create_directories(d / "r.csv.dgeval-journal");
  write_file(journal, "PK\x03\x04 not a journal\n");
  r = run(std::string(kRun) + out + " --resume");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err, "journal: line 1: not a dgeval journal")) << r.err;
  // A journal whose last line was torn by a crash: that range is simply not done.
  std::filesystem::remove_all(d / "r.csv.dgeval-journal");
  interrupted();
  j = read_file(journal);
  write_file(journal, j.substr(0, j.size() - 5));
  r = run(std::string(kRun) + out + " --resume");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ranges_done_in_note(r.err), 2) << r.err;
  EXPECT_EQ(names_in(d.path()), std::vector<std::string>{"r.csv"});
}

// An .npz input is a stream read in order: a resumed run reads (and drops) the done ranges' games
// before the first range it evaluates, and gives the uninterrupted run's bytes (it failed with
// "games must be read in order").
TEST(Resume, FromAStreamedNpzInputGivesTheSameBytes) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  ASSERT_EQ(run("generate --dims 3x3 --games 900 --seed 1 -q -o " + q(d / "g.npz")).status, 0);
  const std::string cmd = "evaluate --input " + q(d / "g.npz") + " --backend cpu --chunk-games 200 -q -o ";
  ASSERT_EQ(run(cmd + q(d / "whole.csv")).status, 0);
  ASSERT_EQ(run(cmd + q(d / "r.csv"), "DGEVAL_TEST_KILL_AT=record:2").status, 137);
  const auto r = run(cmd + q(d / "r.csv") + " --resume");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(d / "r.csv"), read_file(d / "whole.csv"));
}

TEST(Resume, ResumeWithoutAJournalStartsFromTheBeginning) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const auto r = run(std::string(kRun) + "--resume -o " + q(d / "r.csv"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.err, "no journal")) << r.err;
  EXPECT_EQ(names_in(d.path()), std::vector<std::string>{"r.csv"});
  const auto bad = run(std::string(kRun) + "--resume -o -");
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_TRUE(has(bad.err, "--resume needs --output FILE")) << bad.err;
}

TEST(Resume, GenerateKilledAtSeededRandomPointsThenResumedGivesTheSameBytes) {
  SKIP_WITHOUT_CLI();
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE("DGEVAL_TEST_SEED=" + std::to_string(seed) + " replays this test");
  std::mt19937_64 rng(seed ^ 0x5eed);
  TempDir d;
  // 1,000 games in chunks of 90: 12 ranges.
  const std::string base = "generate --dims 3x3x2 --games 1000 --seed 4 --ia 0.5 --backend cpu --chunk-games 90 -q ";
  const int ranges = 12;
  const std::vector<std::pair<std::string, std::vector<std::string>>> forms = {
      {"-o {DIR}/g.npz", {"g.npz"}},
      {"-o {DIR}/g.npz --compress --float32", {"g.npz"}},
      {"--agents {DIR}/a.npy --principals {DIR}/p.npy", {"a.npy", "p.npy"}}};
  for (const auto& form : forms) {
    auto args_in = [&](const std::string& folder) {
      std::string a = form.first;
      for (std::size_t at; (at = a.find("{DIR}")) != std::string::npos;) a.replace(at, 5, folder);
      return base + a;
    };
    const std::string ref_dir = d / "ref", dir = d / "run";
    std::filesystem::remove_all(ref_dir);
    std::filesystem::create_directories(ref_dir);
    ASSERT_EQ(run(args_in(ref_dir)).status, 0);
    for (int trial = 0; trial < 2; ++trial) {
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      const bool part = rng() % 2 == 0;
      const int k = 1 + static_cast<int>(rng() % ranges);
      const std::string hook = std::string("DGEVAL_TEST_KILL_AT=") + (part ? "part:" : "record:") + std::to_string(k);
      SCOPED_TRACE(form.first + ": " + hook);
      ASSERT_EQ(run(args_in(dir), hook).status, 137);
      const auto r = run(args_in(dir) + " --resume");  // -q: no note to read
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(names_in(dir), form.second) << "a journal or a staging file was left behind";
      for (const std::string& o : form.second) {
        EXPECT_TRUE(read_file(dir + "/" + o) == read_file(ref_dir + "/" + o)) << o << " differs";
      }
    }
  }
}

TEST(Resume, CtrlCKeepsTheJournalAndResumeFinishesTheRun) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string ref = d / "ref.npz", out = d / "r.npz";
  ASSERT_EQ(run(std::string(kRun) + "-q -o " + q(ref)).status, 0);
  // A Ctrl-C (SIGINT raised by the test hook) once the 5th range is recorded: the one exit path,
  // exit 130, the output not written, the journal kept and named.
  auto r = run(std::string(kRun) + "-o " + q(out), "DGEVAL_TEST_KILL_AT=record:5:" + std::to_string(SIGINT));
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_TRUE(has(r.err, "interrupted by SIGINT") && has(r.err, "r.npz.dgeval-journal keeps 1500 of 4000 games"))
      << r.err;
  EXPECT_EQ(names_in(d.path()), (std::vector<std::string>{"r.npz.dgeval-journal", "ref.npz"}));
  r = run(std::string(kRun) + "-o " + q(out) + " --resume");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ranges_done_in_note(r.err), 5) << r.err;
  EXPECT_TRUE(read_file(out) == read_file(ref));
  EXPECT_EQ(names_in(d.path()), (std::vector<std::string>{"r.npz", "ref.npz"}));
}
