#pragma once
// EventBus: delivers committed events to in-process subscribers. Each subscriber has a durable
// cursor (table event_cursors); its handler runs in the same write transaction that advances the
// cursor, so a reaction is committed exactly once and resumes after a restart where it stopped.
// Thread-safety: Subscribe before Start; Notify and DeliverPending are thread-safe; handlers run
// on the bus thread (or the DeliverPending caller), one event at a time per bus.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "store/store.h"

namespace platops::events {

class EventBus {
 public:
  // A handler's writes and the cursor advance commit together; a non-OK Status rolls both back
  // and the event is offered again later.
  using Handler = std::function<Status(store::Tx&, const Event&)>;

  EventBus(store::Store& store, const EventLog& log);
  ~EventBus();

  // `name` is the durable cursor key; `action_prefix` selects events ("incident." or "" for all).
  // A new subscriber starts from the first event in the log.
  void Subscribe(std::string name, std::string action_prefix, Handler handler);

  // Starts the delivery thread; it wakes on Notify() and retries failed handlers every
  // `retry_interval`.
  void Start(std::chrono::milliseconds retry_interval = std::chrono::seconds(5));
  // Finishes the event in hand and joins. Idempotent.
  void Stop();
  // Signals that events were committed.
  void Notify();
  // Delivers everything pending on the calling thread; returns the first handler failure.
  Status DeliverPending();

 private:
  struct Subscriber {
    std::string name;
    std::string prefix;
    Handler handler;
  };
  Status DeliverTo(const Subscriber& s);

  store::Store& store_;
  const EventLog& log_;
  std::vector<Subscriber> subscribers_;
  std::mutex deliver_mu_;  // one delivery pass at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = true;    // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace platops::events
