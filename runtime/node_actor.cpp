#include "runtime/node_actor.hpp"

#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace weft {

namespace {

struct node_state {
  logger log;
  std::vector<caf::actor> participants;
  std::vector<caf::actor> owned;
  static inline const char* name = "weft.node";
};

using node_self = node_actor::stateful_pointer<node_state>;

void remove_participant(node_state& st, const caf::actor_addr& who) {
  auto& ps = st.participants;
  for (auto i = ps.begin(); i != ps.end(); ++i) {
    if (i->address() == who) {
      ps.erase(i);
      return;
    }
  }
}

node_actor::behavior_type node_behavior(node_self self, logger log) {
  self->state.log = log;
  self->set_down_handler([self](const caf::down_msg& msg) {
    remove_participant(self->state, msg.source);
  });
  // On shutdown, every participant goes down with the node: a process cannot
  // exit while an actor lives (CAF-NOTES.md).
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (const auto& p : self->state.participants)
      self->send_exit(p, msg.reason);
    for (const auto& p : self->state.owned)
      self->send_exit(p, msg.reason);
    self->state.participants.clear();
    self->state.owned.clear();
    self->quit(msg.reason);
  });
  return {
    [self](join_drain_atom, caf::actor participant) {
      if (!participant)
        return;
      self->monitor(participant);
      self->state.participants.push_back(std::move(participant));
    },
    [self](own_atom, caf::actor owned) {
      if (owned)
        self->state.owned.push_back(std::move(owned));
    },
    [self](drain_atom, caf::timespan budget) -> caf::result<drain_report> {
      auto& st = self->state;
      auto report = std::make_shared<drain_report>();
      report->participants = static_cast<std::uint32_t>(st.participants.size());
      if (st.participants.empty())
        return *report;
      auto promise = self->make_response_promise<drain_report>();
      // shared_ptr: the report is shared by one callback per participant and
      // lives until the last of them has run.
      auto finish_one = [report, promise](bool drained) mutable {
        if (drained)
          ++report->drained;
        else
          ++report->unfinished;
        if (report->drained + report->unfinished == report->participants)
          promise.deliver(*report);
      };
      for (const auto& p : st.participants) {
        self->request(p, budget, drain_atom_v, budget)
          .then([finish_one](ok_atom) mutable { finish_one(true); },
                [self, finish_one, p](caf::error& err) mutable {
                  // A participant that is gone has nothing left to drain.
                  if (err == caf::sec::request_receiver_down) {
                    finish_one(true);
                    return;
                  }
                  self->state.log.warn("node.drain_unfinished",
                                       {{"actor", caf::to_string(p.address())},
                                        {"error", caf::to_string(err)}});
                  finish_one(false);
                });
      }
      return promise;
    },
  };
}

} // namespace

node_actor spawn_node_actor(caf::actor_system& sys, logger log) {
  return sys.spawn(node_behavior, log);
}

} // namespace weft
