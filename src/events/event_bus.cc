#include "events/event_bus.h"

#include <spdlog/spdlog.h>

namespace platops::events {

EventBus::EventBus(store::Store& store, const EventLog& log) : store_(store), log_(log) {}

EventBus::~EventBus() { Stop(); }

void EventBus::Subscribe(std::string name, std::string action_prefix, Handler handler) {
  subscribers_.push_back({std::move(name), std::move(action_prefix), std::move(handler)});
}

void EventBus::Start(std::chrono::milliseconds retry_interval) {
  thread_ = std::thread([this, retry_interval] {
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, retry_interval, [this] { return pending_ || stopping_; });
        if (stopping_) return;
        pending_ = false;
      }
      Status st = DeliverPending();
      if (!st.ok()) spdlog::warn("event delivery failed, will retry: {}", st.ToString());
    }
  });
}

void EventBus::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventBus::Notify() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

Status EventBus::DeliverPending() {
  std::lock_guard deliver(deliver_mu_);
  Status first = Status::Ok();
  for (const auto& s : subscribers_) {
    Status st = DeliverTo(s);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

Status EventBus::DeliverTo(const Subscriber& s) {
  constexpr int kBatch = 500;
  while (true) {
    int64_t cursor = 0;
    std::vector<Event> batch;
    PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(
          auto row,
          tx.QueryOne("SELECT last_seq FROM event_cursors WHERE subscriber = $1", {s.name}));
      cursor = row ? row->Int(0) : 0;
      EventQuery q;
      q.after_seq = cursor;
      q.limit = kBatch;
      PLATOPS_ASSIGN_OR_RETURN(batch, log_.List(tx, q));
      return Status::Ok();
    }));
    if (batch.empty()) return Status::Ok();
    // Events the subscriber does not want advance the cursor in one write; each wanted event gets
    // its own transaction with the handler.
    size_t i = 0;
    while (i < batch.size()) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return Status::Ok();  // the cursor keeps the rest for the next start
      }
      size_t j = i;
      while (j < batch.size() && batch[j].action.compare(0, s.prefix.size(), s.prefix) != 0) ++j;
      int64_t advance_to = j > i ? batch[j - 1].seq : 0;
      const Event* wanted = j < batch.size() ? &batch[j] : nullptr;
      Status st = store_.Write([&](store::Tx& tx) -> Status {
        if (wanted) {
          PLATOPS_RETURN_IF_ERROR(s.handler(tx, *wanted));
          advance_to = wanted->seq;
        }
        PLATOPS_ASSIGN_OR_RETURN(
            auto n, tx.Exec("INSERT INTO event_cursors (subscriber, last_seq) VALUES ($1, $2) "
                            "ON CONFLICT (subscriber) DO UPDATE SET last_seq = excluded.last_seq",
                            {s.name, advance_to}));
        (void)n;
        return Status::Ok();
      });
      if (!st.ok()) {
        return Status(st.code(), "subscriber " + s.name + " at event " +
                                     std::to_string(wanted ? wanted->seq : advance_to) + ": " +
                                     st.message());
      }
      i = j + 1;
    }
    if (batch.size() < kBatch) return Status::Ok();
  }
}

}  // namespace platops::events
