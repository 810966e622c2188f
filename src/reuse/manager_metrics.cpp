// The ConnManager's metrics (decision D11), collected from its endpoints at scrape time.
#include "reuse/manager_metrics.hpp"

#include "reuse/address_key.hpp"
#include "reuse/manager_state.hpp"

#include <quicreuse/metrics.hpp>

#include <set>

namespace quicreuse::detail {
namespace {

void add_pool_gauges(MetricsWriter& w, const Reuse& reuse, const char* family) {
  const Reuse::Counts c = reuse.counts();
  const char* help = "UDP sockets in the connection manager's pools";
  w.gauge("quicreuse_pooled_endpoints", help, {{"family", family}, {"pool", "global_listeners"}},
          static_cast<double>(c.global_listeners));
  w.gauge("quicreuse_pooled_endpoints", help, {{"family", family}, {"pool", "global_dialers"}},
          static_cast<double>(c.global_dialers));
  w.gauge("quicreuse_pooled_endpoints", help, {{"family", family}, {"pool", "unicast"}},
          static_cast<double>(c.unicast));
  for (const auto& tr : reuse.transports()) {
    w.gauge("quicreuse_endpoint_references", "references held on each pooled UDP socket",
            {{"local", address_key(tr->local_endpoint())}}, tr->ref_count());
  }
}

void add_endpoint(MetricsWriter& w, const EndpointStats& s) {
  auto counter = [&](const char* name, const char* help, std::uint64_t v,
                     const MetricLabels& labels = {}) {
    w.counter(name, help, labels, static_cast<double>(v));
  };
  counter("quicreuse_connections_started_total", "QUIC connections started, by direction",
          s.connections_incoming, {{"direction", "incoming"}});
  counter("quicreuse_connections_started_total", "QUIC connections started, by direction",
          s.connections_dialed, {{"direction", "outgoing"}});
  counter("quicreuse_connections_refused_total",
          "incoming connections refused (hook, full accept queue or table)", s.connections_refused);
  for (const auto& c : s.connections_closed_by_reason) {
    counter("quicreuse_connections_closed_total",
            "QUIC connections closed, by direction and reason", c.count,
            {{"direction", c.direction}, {"reason", c.reason}});
  }
  const char* hs_help = "time from the first packet to handshake completion";
  w.histogram("quicreuse_handshake_duration_seconds", hs_help, {{"direction", "outgoing"}},
              s.handshake_outgoing.bounds, s.handshake_outgoing.counts, s.handshake_outgoing.sum,
              s.handshake_outgoing.count);
  w.histogram("quicreuse_handshake_duration_seconds", hs_help, {{"direction", "incoming"}},
              s.handshake_incoming.bounds, s.handshake_incoming.counts, s.handshake_incoming.sum,
              s.handshake_incoming.count);
  counter("quicreuse_packets_received_total", "UDP datagrams received", s.datagrams_received);
  counter("quicreuse_packets_sent_total", "UDP datagrams sent", s.datagrams_sent);
  counter("quicreuse_bytes_received_total", "UDP payload bytes received", s.bytes_received);
  counter("quicreuse_bytes_sent_total", "UDP payload bytes sent", s.bytes_sent);
  for (const auto& [reason, n] : s.dropped_by_reason) {
    counter("quicreuse_packets_dropped_total", "datagrams dropped, by reason", n,
            {{"reason", reason}});
  }
  counter("quicreuse_packets_dropped_total", "datagrams dropped, by reason", s.send_errors,
          {{"reason", "send_error"}});
  counter("quicreuse_retries_sent_total", "Retry packets sent (source-address validation)",
          s.retries_sent);
  w.gauge("quicreuse_connections_half_open", "server handshakes under way", {},
          static_cast<double>(s.connections_half_open));
  w.gauge("quicreuse_connections_half_open_peak",
          "the most server handshakes under way at once, per endpoint, summed", {},
          static_cast<double>(s.half_open_peak));
  w.gauge("quicreuse_buffered_stream_bytes", "stream bytes held, by side", {{"side", "send"}},
          static_cast<double>(s.buffered_send_bytes));
  w.gauge("quicreuse_buffered_stream_bytes", "stream bytes held, by side", {{"side", "receive"}},
          static_cast<double>(s.buffered_receive_bytes));
  counter("quicreuse_retries_for_half_open_total",
          "Retry packets sent because too many handshakes were under way", s.retries_for_half_open);
  counter("quicreuse_version_negotiations_sent_total", "Version Negotiation packets sent",
          s.version_negotiations_sent);
  counter("quicreuse_stateless_resets_sent_total", "stateless resets sent",
          s.stateless_resets_sent);
  counter("quicreuse_stateless_resets_received_total", "stateless resets received",
          s.stateless_resets_received);
  counter("quicreuse_non_quic_packets_total", "non-QUIC datagrams, forwarded or dropped",
          s.non_quic_delivered, {{"result", "forwarded"}});
  counter("quicreuse_non_quic_packets_total", "non-QUIC datagrams, forwarded or dropped",
          s.non_quic_dropped, {{"result", "dropped"}});
}

}  // namespace

void collect_manager_metrics(ManagerState& s, MetricsWriter& w) {
  std::vector<std::shared_ptr<RefcountedTransport>> transports;
  if (s.reuse4) {
    add_pool_gauges(w, *s.reuse4, "udp4");
    add_pool_gauges(w, *s.reuse6, "udp6");
    for (auto& t : s.reuse4->transports()) {
      transports.push_back(t);
    }
    for (auto& t : s.reuse6->transports()) {
      transports.push_back(t);
    }
  }
  for (auto& weak : s.single_owner) {
    if (auto t = weak.lock()) {
      transports.push_back(t);
    }
  }
  w.gauge("quicreuse_quic_listeners", "bound addresses with a QUIC listener", {},
          static_cast<double>(s.listeners.size()));
  std::set<const Endpoint*> seen;
  for (const auto& t : transports) {
    const auto& endpoint = t->endpoint();
    if (endpoint && seen.insert(endpoint.get()).second) {
      add_endpoint(w, endpoint->stats());
    }
  }
  // Make every family visible even before the first endpoint exists.
  if (seen.empty()) {
    add_endpoint(w, EndpointStats{});
  }
}

}  // namespace quicreuse::detail
