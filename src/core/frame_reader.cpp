#include "core/frame_reader.hpp"

namespace quicreuse::core {

bool FrameReader::varint(std::uint64_t& value) {
  if (pos_ >= payload_.size()) {
    return false;
  }
  const std::size_t length = std::size_t{1} << (payload_[pos_] >> 6);
  if (payload_.size() - pos_ < length) {
    return false;
  }
  value = payload_[pos_] & 0x3fu;
  for (std::size_t i = 1; i < length; ++i) {
    value = (value << 8) | payload_[pos_ + i];
  }
  pos_ += length;
  return true;
}

bool FrameReader::skip(std::uint64_t n) {
  if (n > payload_.size() - pos_) {
    return false;
  }
  pos_ += static_cast<std::size_t>(n);
  return true;
}

bool FrameReader::skip_varints(int n) {
  std::uint64_t ignored = 0;
  for (int i = 0; i < n; ++i) {
    if (!varint(ignored)) {
      return false;
    }
  }
  return true;
}

bool FrameReader::known_non_stream(std::uint64_t type) noexcept {
  switch (type) {
    case kFrameNewConnectionId:
    case 0x19:  // RETIRE_CONNECTION_ID
    case 0x1a:  // PATH_CHALLENGE
    case 0x1b:  // PATH_RESPONSE
    case 0x1c:  // CONNECTION_CLOSE
    case 0x1d:  // CONNECTION_CLOSE (application)
    case kFrameHandshakeDone:
    case 0x30:  // DATAGRAM
    case 0x31:  // DATAGRAM with length
      return true;
    default:
      return type < 0x08;
  }
}

bool FrameReader::next(FrameInfo& frame) {
  if (malformed_ || pos_ >= payload_.size()) {
    return false;
  }
  frame = FrameInfo{};
  frame.begin = pos_;
  // ngtcp2 0.12 reads a frame type as one byte (not as a variable-length integer) and takes any
  // byte it does not otherwise know whose 0x08 bit is set for a STREAM frame: the guards must
  // see frames exactly as ngtcp2 will.
  const std::uint64_t type = payload_[pos_++];
  frame.type = type;
  bool ok = true;
  std::uint64_t n = 0;
  if (ok) {
    if (!known_non_stream(type) && (type & 0x08) != 0) {  // STREAM: id [offset] [length] data
      ok = skip_varints(1) && ((type & 0x04) == 0 || skip_varints(1));
      if (ok && (type & 0x02) != 0) {
        ok = varint(n) && skip(n);
      } else if (ok) {
        pos_ = payload_.size();  // the data runs to the end of the packet
      }
    } else {
      switch (type) {
        case 0x00:  // PADDING: a run of zero bytes counts as one frame
          while (pos_ < payload_.size() && payload_[pos_] == 0) {
            ++pos_;
          }
          break;
        case 0x01:  // PING
        case kFrameHandshakeDone:
          break;
        case 0x02:    // ACK
        case 0x03: {  // ACK with ECN counts
          std::uint64_t ranges = 0;
          ok = skip_varints(2) && varint(ranges) && skip_varints(1) &&
               ranges <= (payload_.size() - pos_) / 2;
          for (std::uint64_t i = 0; ok && i < ranges; ++i) {
            ok = skip_varints(2);
          }
          ok = ok &&
               (type == 0x02 || (varint(frame.ect0) && varint(frame.ect1) && varint(frame.ce)));
          break;
        }
        case 0x04:  // RESET_STREAM
          ok = skip_varints(3);
          break;
        case 0x05:  // STOP_SENDING
        case 0x11:  // MAX_STREAM_DATA
        case 0x15:  // STREAM_DATA_BLOCKED
          ok = skip_varints(2);
          break;
        case 0x06:  // CRYPTO: offset length data
          ok = skip_varints(1) && varint(n) && skip(n);
          break;
        case 0x07:  // NEW_TOKEN: length token
          ok = varint(n) && skip(n);
          break;
        case 0x10:  // MAX_DATA
        case 0x12:  // MAX_STREAMS (bidi)
        case 0x13:  // MAX_STREAMS (uni)
        case 0x14:  // DATA_BLOCKED
        case 0x16:  // STREAMS_BLOCKED (bidi)
        case 0x17:  // STREAMS_BLOCKED (uni)
        case 0x19:  // RETIRE_CONNECTION_ID
          ok = skip_varints(1);
          break;
        case kFrameNewConnectionId: {  // seq, retire_prior_to, length(1), cid, token(16)
          ok = varint(frame.seq) && varint(frame.retire_prior_to) && pos_ < payload_.size();
          if (ok) {
            const std::size_t cid_length = payload_[pos_++];
            ok = skip(cid_length) && skip(16);
          }
          break;
        }
        case 0x1a:  // PATH_CHALLENGE
        case 0x1b:  // PATH_RESPONSE
          ok = skip(8);
          break;
        case 0x1c:  // CONNECTION_CLOSE (transport): code, frame type, reason
          ok = skip_varints(2) && varint(n) && skip(n);
          break;
        case 0x1d:  // CONNECTION_CLOSE (application): code, reason
          ok = skip_varints(1) && varint(n) && skip(n);
          break;
        case 0x30:  // DATAGRAM, to the end of the packet
          pos_ = payload_.size();
          break;
        case 0x31:  // DATAGRAM with length
          ok = varint(n) && skip(n);
          break;
        default:
          ok = false;  // unknown: ngtcp2 rejects the packet (FRAME_ENCODING_ERROR)
          break;
      }
    }
  }
  if (!ok) {
    malformed_ = true;
    return false;
  }
  frame.end = pos_;
  return true;
}

}  // namespace quicreuse::core
