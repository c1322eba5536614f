"""The curated module lists (``autoload=no``): every module and dependency named, nothing that fails."""

COMMON = (
    # sorcery, timing, RTP, PJSIP stack
    "res_sorcery_config", "res_sorcery_memory", "res_sorcery_memory_cache", "res_sorcery_astdb",
    "res_timing_timerfd", "res_rtp_asterisk", "res_pjproject", "res_pjsip", "res_pjsip_pubsub",
    "res_pjsip_session", "chan_pjsip", "res_pjsip_authenticator_digest",
    "res_pjsip_outbound_authenticator_digest", "res_pjsip_endpoint_identifier_user",
    "res_pjsip_endpoint_identifier_ip", "res_pjsip_registrar", "res_pjsip_outbound_registration",
    "res_pjsip_sdp_rtp", "res_pjsip_caller_id", "res_pjsip_nat", "res_pjsip_dtmf_info",
    "res_pjsip_rfc3326", "res_pjsip_header_funcs", "res_pjsip_logger", "res_pjsip_dlg_options",
    # codecs and formats
    "codec_ulaw", "codec_alaw", "codec_a_mu", "codec_gsm", "codec_resample",
    "format_wav", "format_gsm", "format_pcm", "format_sln",
    # bridging, dialplan, applications and functions
    "bridge_simple", "bridge_softmix", "bridge_holding", "bridge_native_rtp", "chan_bridge_media",
    "res_musiconhold", "pbx_config", "app_dial", "app_playback", "app_echo", "app_senddtmf",
    "app_mixmonitor", "app_playtones", "app_record", "app_milliwatt", "app_verbose", "app_amd",
    "app_waitforsilence", "app_read", "app_exec",
    "func_callerid", "func_channel", "func_logic", "func_strings", "func_timeout", "func_rand",
    "func_math", "func_cut", "func_hangupcause", "func_pjsip_endpoint", "func_pjsip_contact",
    "func_global", "func_uuid", "func_env",
)

PLATFORM = COMMON + (
    "res_pjsip_acl",  # SIP brute-force bans (pjsip_bans.conf, controlplane/security/sip_acl.py)
    # browser webphones: SIP over WebSocket, DTLS-SRTP, Opus (dialplan/webphone.py)
    "res_pjsip_transport_websocket", "res_srtp", "res_format_attr_opus", "codec_opus_open_source",
    "res_http_websocket", "res_websocket_client", "res_stasis", "res_stasis_answer",
    "res_stasis_playback", "res_stasis_recording", "res_stasis_snoop",
    "res_stasis_device_state", "app_stasis", "res_ari", "res_ari_model",
    "res_ari_applications", "res_ari_asterisk", "res_ari_bridges", "res_ari_channels",
    "res_ari_device_states", "res_ari_endpoints", "res_ari_events", "res_ari_playbacks",
    "res_ari_recordings", "res_ari_sounds", "chan_websocket", "res_rtp_multicast", "chan_rtp", "res_cdrel_custom", "cel_custom",
)

LAB = COMMON + ("app_originate",)


def modules_conf(modules: tuple[str, ...]) -> str:
    lines = ["[modules]", "autoload = no", "preload = res_sorcery_config.so"]
    lines += [f"load = {m}.so" for m in modules]
    return "\n".join(lines) + "\n"


# Files Asterisk reads at start: present (empty or with defaults) so the log holds only real problems.
QUIET_FILES = {
    "ccss.conf": "[general]\n",
    "cel.conf": "[general]\nenable = no\n",
    "features.conf": "[general]\n",
    "acl.conf": "",
    "udptl.conf": "[general]\n",
    "pjproject.conf": "",
    "websocket_client.conf": "",
    "chan_websocket.conf": "",
    # app_amd's own defaults, written out; the lab compares our detector against them.
    "amd.conf": (
        "[general]\ninitial_silence = 2500\ngreeting = 1500\nafter_greeting_silence = 800\n"
        "total_analysis_time = 5000\nmin_word_length = 100\nbetween_words_silence = 50\n"
        "maximum_number_of_words = 2\nsilence_threshold = 256\nmaximum_word_length = 5000\n"
    ),
}
