"""SIPp as a carrier: the call scenario and SIPp's result files, for ``bench/ivr_capacity.py``.

The scenario places one call: INVITE (SDP offer, PCMU/PCMA/telephone-event), optional
provisional responses, the 200 OK (its response time from the first INVITE is SIPp's
``rtd`` 1, traced per call with ``-trace_rtt -rtt_freq 1``), ACK, a pause of ``-d`` ms,
BYE. Anything else (an error response, a BYE from the other side) fails the call. The
caller number is ``[caller_prefix][call_number]`` (``-key caller_prefix …``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from benchkit import BenchError

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- The carrier calls the DID, holds -d ms after the answer, hangs up. -->
<scenario name="ivr_capacity">
  <send retrans="500" start_rtd="1">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[caller_prefix][call_number]" <sip:[caller_prefix][call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[caller_prefix][call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 8 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="1" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[caller_prefix][call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:[caller_prefix][call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
  <ResponseTimeRepartition value="10, 20, 50, 100, 200, 500, 1000, 2000, 5000"/>
</scenario>
"""


def sipp_stats(workdir: Path) -> dict[str, str]:
    """The last line of SIPp's ``-trace_stat`` file as a dict (cumulative counters)."""
    files = sorted(workdir.glob("*_.csv"))
    if not files:
        raise BenchError(f"SIPp wrote no statistics in {workdir}")
    rows = list(csv.reader(files[0].read_text().splitlines(), delimiter=";"))
    return dict(zip(rows[0], rows[-1], strict=False))


def sipp_rtts(workdir: Path) -> list[float]:
    """Every INVITE → 200 OK time (ms) SIPp traced (``-trace_rtt -rtt_freq 1``)."""
    out: list[float] = []
    for f in workdir.glob("*_rtt.csv"):
        for row in csv.reader(f.read_text().splitlines(), delimiter=";"):
            if len(row) >= 2:
                try:
                    out.append(float(row[1]))
                except ValueError:
                    continue  # the header
    return out
