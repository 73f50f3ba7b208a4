#include "distributed/communicator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace distributed {
namespace {

// MPI's error code as text: "MPI_Allreduce failed: MPI_ERR_TRUNCATE: message truncated".
absl::Status MpiError(const open_mpi::Library& mpi, const char* call, int code) {
  if (code == open_mpi::kSuccess) return absl::OkStatus();
  char text[open_mpi::kMaxErrorString] = {};
  int length = 0;
  mpi.Error_string(code, text, &length);
  return absl::InternalError(absl::StrFormat("%s failed: %s", call, text));
}

// The one tag of the messages that name a rank that does not reach a collective, all of three
// int64s {sender, collective, where}: a question "have you reached collective #k?" is
// {asker, k, -1}, its answer {answerer, k, the collective the answerer is waiting in}. A rank
// answers only while it waits in a collective, so one that does not answer is stopped, hung, or
// busy far from any collective; one that answers from an earlier collective is alive and waits
// there for some other rank (the one that does not answer), and is not named.
constexpr int kReachedTag = 18014;
// A rank waiting longer than this in one collective polls every millisecond instead of spinning.
constexpr std::chrono::seconds kSpin(1);
constexpr std::chrono::milliseconds kNap(1);
// While spinning, questions are looked for at most this often.
constexpr std::chrono::microseconds kServiceEvery(500);
// How long a rank whose time is up waits for the others' answers.
constexpr std::chrono::seconds kAnswerWait(1);

using Clock = std::chrono::steady_clock;

// "rank 1", "ranks 1 and 3", "ranks 1, 2 and 3".
std::string RankList(const std::vector<int>& ranks) {
  if (ranks.size() == 1) return absl::StrFormat("rank %d", ranks[0]);
  std::string list = "ranks ";
  for (size_t k = 0; k < ranks.size(); ++k) {
    if (k > 0) list += k + 1 == ranks.size() ? " and " : ", ";
    absl::StrAppend(&list, ranks[k]);
  }
  return list;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::FromEnvironment(
    const CommunicatorOptions& options) {
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  int processes = 0;
  if (world == nullptr || !absl::SimpleAtoi(world, &processes) || processes <= 1) return nullptr;
  if (options.collective_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the collective timeout must be positive (absl::InfiniteDuration() waits for ever), not "
        "%s",
        absl::FormatDuration(options.collective_timeout)));
  }
  absl::StatusOr<const open_mpi::Library*> loaded = open_mpi::Load();
  if (!loaded.ok()) return loaded.status();
  const open_mpi::Library& mpi = **loaded;
  int initialized = 0;
  mpi.Initialized(&initialized);
  if (!initialized) {
    // The collectives are nonblocking (Await). Unless the user chose otherwise, Open MPI's libnbc
    // runs an in-place MPI_Iallreduce on 2 or 3 ranks as a binomial reduce, then a broadcast:
    // 1.5x the time of the blocking MPI_Allreduce on imdb_lstm's 853,240 bytes. Its ring takes
    // the blocking call's time (tools/bench_allreduce).
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", /*overwrite=*/0);
    if (absl::Status status = MpiError(mpi, "MPI_Init", mpi.Init(nullptr, nullptr)); !status.ok()) {
      return status;
    }
  }
  // Errors come back as codes, to be reported with the rank, instead of aborting silently.
  mpi.Comm_set_errhandler(mpi.comm_world, mpi.errors_return);
  int rank = 0, size = 0;
  mpi.Comm_rank(mpi.comm_world, &rank);
  mpi.Comm_size(mpi.comm_world, &size);
  return std::unique_ptr<Communicator>(
      new Communicator(mpi, rank, size, options.collective_timeout));
}

Communicator::~Communicator() {
  // Answers and questions sent to live ranks go out at once; give them a second, then let go.
  const auto until = Clock::now() + kAnswerWait;
  while (!sent_.empty() && Clock::now() < until) {
    if (!Service(0, nullptr).ok()) break;
  }
  for (Sent& sent : sent_) {
    mpi_.Request_free(&sent.request);
    sent.message.release();  // MPI may still read it: a few bytes left to the process's end
  }
  int finalized = 0;
  mpi_.Finalized(&finalized);
  if (!finalized) mpi_.Finalize();
}

template <typename T, typename Start, typename Blocking>
absl::Status Communicator::InPieces(T* data, size_t n, const char* mpi_name, const char* what,
                                    const Start& start, const Blocking& blocking) {
  const auto begin = Clock::now();
  struct AddTime {
    Clock::time_point begin;
    double& seconds;
    ~AddTime() { seconds += std::chrono::duration<double>(Clock::now() - begin).count(); }
  } add_time{begin, traffic_.seconds};
  const bool bounded = timeout_ != absl::InfiniteDuration();
  constexpr size_t kPiece = std::numeric_limits<int>::max();
  for (size_t first = 0; first < n; first += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, n - first));
    const int64_t collective = static_cast<int64_t>(++traffic_.calls);
    traffic_.bytes += static_cast<size_t>(count) * sizeof(T);
    open_mpi::Request request = nullptr;
    if (const int code =
            bounded ? start(data + first, count, &request) : blocking(data + first, count);
        code != open_mpi::kSuccess) {
      return MpiError(mpi_, absl::StrCat(bounded ? "MPI_I" : "MPI_", mpi_name).c_str(), code);
    }
    if (bounded) {
      if (absl::Status status = Await(request, collective, what); !status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

absl::Status Communicator::Post(int destination, int tag, int64_t a, int64_t b) {
  sent_.push_back(
      {nullptr, std::make_unique<std::array<int64_t, 3>>(std::array<int64_t, 3>{rank_, a, b})});
  Sent& sent = sent_.back();
  return MpiError(mpi_, "MPI_Isend",
                  mpi_.Isend(sent.message->data(), 3, mpi_.int64_type, destination, tag,
                             mpi_.comm_world, &sent.request));
}

absl::Status Communicator::Service(int64_t asked, std::vector<bool>* answered) {
  for (;;) {
    int waiting = 0;
    if (absl::Status status =
            MpiError(mpi_, "MPI_Iprobe",
                     mpi_.Iprobe(open_mpi::kAnySource, kReachedTag, mpi_.comm_world, &waiting,
                                 open_mpi::kStatusIgnore));
        !status.ok()) {
      return status;
    }
    if (!waiting) break;
    std::array<int64_t, 3> message{};
    if (absl::Status status =
            MpiError(mpi_, "MPI_Recv",
                     mpi_.Recv(message.data(), 3, mpi_.int64_type, open_mpi::kAnySource,
                               kReachedTag, mpi_.comm_world, open_mpi::kStatusIgnore));
        !status.ok()) {
      return status;
    }
    const auto [from, collective, where] = message;
    if (from < 0 || from >= size_) continue;
    if (where < 0) {  // a question: answer with the collective this rank is waiting in
      if (absl::Status status = Post(static_cast<int>(from), kReachedTag, collective, current_);
          !status.ok()) {
        return status;
      }
    } else if (answered != nullptr && collective == asked) {
      // Waiting in this collective, or in an earlier one that waits for another rank: alive.
      (*answered)[static_cast<size_t>(from)] = true;
    }
  }
  // Forget the messages that have gone.
  for (size_t k = 0; k < sent_.size();) {
    int done = 0;
    if (absl::Status status = MpiError(
            mpi_, "MPI_Test", mpi_.Test(&sent_[k].request, &done, open_mpi::kStatusIgnore));
        !status.ok()) {
      return status;
    }
    if (done) {
      sent_[k] = std::move(sent_.back());
      sent_.pop_back();
    } else {
      ++k;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> Communicator::AskWhoReached(open_mpi::Request& request,
                                                             int64_t collective, int& done) {
  std::vector<bool> answered(static_cast<size_t>(size_), false);
  answered[static_cast<size_t>(rank_)] = true;
  for (int other = 0; other < size_; ++other) {
    if (other == rank_) continue;
    if (absl::Status status = Post(other, kReachedTag, collective, -1); !status.ok()) {
      return status;
    }
  }
  const auto until =
      Clock::now() + std::min<Clock::duration>(kAnswerWait, absl::ToChronoNanoseconds(timeout_));
  while (!done && Clock::now() < until &&
         std::find(answered.begin(), answered.end(), false) != answered.end()) {
    if (absl::Status status = Service(collective, &answered); !status.ok()) return status;
    if (absl::Status status =
            MpiError(mpi_, "MPI_Test", mpi_.Test(&request, &done, open_mpi::kStatusIgnore));
        !status.ok()) {
      return status;
    }
  }
  std::vector<int> missing;
  for (int other = 0; other < size_; ++other) {
    if (!answered[static_cast<size_t>(other)]) missing.push_back(other);
  }
  return missing;
}

absl::Status Communicator::Await(open_mpi::Request& request, int64_t collective, const char* what) {
  current_ = collective;
  const auto begin = Clock::now();
  auto deadline = begin + absl::ToChronoNanoseconds(timeout_);
  auto next_service = begin;
  bool everyone_here = false;  // every rank answered from a collective
  const std::string limit = absl::StrFormat("%g s", absl::ToDoubleSeconds(timeout_));
  for (int done = 0;;) {
    if (absl::Status status =
            MpiError(mpi_, "MPI_Test", mpi_.Test(&request, &done, open_mpi::kStatusIgnore));
        !status.ok()) {
      return status;
    }
    if (done) break;
    const auto now = Clock::now();
    if (now >= next_service) {
      if (absl::Status status = Service(0, nullptr); !status.ok()) return status;
      next_service = now + kServiceEvery;
    }
    if (now >= deadline) {
      if (everyone_here) {
        // Every rank waits in a collective, yet this one does not complete: they do not pair up.
        Abort(absl::DeadlineExceededError(absl::StrFormat(
            "collective #%d (%s) did not complete within %s after every rank answered from a "
            "collective: the ranks must call the same collectives in the same order; ending the "
            "job",
            collective, what, limit)));
      }
      // Ask every other rank whether it has reached this collective: those that do not answer
      // within a second are stopped, hung, or busy far from any collective.
      absl::StatusOr<std::vector<int>> missing = AskWhoReached(request, collective, done);
      if (!missing.ok()) return missing.status();
      if (done) break;  // it completed meanwhile: carry on
      if (!missing->empty()) {
        Abort(absl::DeadlineExceededError(absl::StrFormat(
            "%s did not reach collective #%d (%s) within %s: %s stopped, hung or far slower; "
            "ending the job",
            RankList(*missing), collective, what, limit,
            missing->size() == 1 ? "it is" : "they are")));
      }
      // Every rank waits in a collective (the last may have just arrived): give this one another
      // timeout to complete.
      everyone_here = true;
      deadline = Clock::now() + absl::ToChronoNanoseconds(timeout_);
    }
    if (now - begin > kSpin) std::this_thread::sleep_for(kNap);
  }
  current_ = 0;
  return absl::OkStatus();
}

absl::Status Communicator::Broadcast(Real* values, size_t count) {
  static_assert(std::is_same_v<Real, float>, "the layers train in float32");
  return InPieces(
      values, count, "Bcast", "broadcast",
      [&](Real* piece, int n, open_mpi::Request* request) {
        return mpi_.Ibcast(piece, n, mpi_.float_type, 0, mpi_.comm_world, request);
      },
      [&](Real* piece, int n) {
        return mpi_.Bcast(piece, n, mpi_.float_type, 0, mpi_.comm_world);
      });
}

template <typename T>
absl::Status Communicator::Sum(T* values, size_t count, open_mpi::Datatype type) {
  return InPieces(
      values, count, "Allreduce", "allreduce",
      [&](T* piece, int n, open_mpi::Request* request) {
        return mpi_.Iallreduce(open_mpi::kInPlace, piece, n, type, mpi_.sum, mpi_.comm_world,
                               request);
      },
      [&](T* piece, int n) {
        return mpi_.Allreduce(open_mpi::kInPlace, piece, n, type, mpi_.sum, mpi_.comm_world);
      });
}
absl::Status Communicator::AllreduceSum(float* values, size_t count) {
  return Sum(values, count, mpi_.float_type);
}

absl::Status Communicator::AllreduceSum(double* values, size_t count) {
  return Sum(values, count, mpi_.double_type);
}

void Communicator::Abort(const absl::Status& status) {
  std::fflush(stdout);
  std::fprintf(stderr, "rank %d of %d: %s\n", rank_, size_, std::string(status.message()).c_str());
  std::fflush(stderr);
  mpi_.Abort(mpi_.comm_world, 1);
  std::abort();  // MPI_Abort does not return; in case it does
}

}  // namespace distributed
