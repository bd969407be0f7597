"""Which storage options a committed remote may give, per protocol, and which
options are secrets its library sends as they are to the remote's host.

A committed `.gitpipe/config.yaml` says where a remote's bytes go and how
they are stored there: the bucket, its endpoint, its region, its encryption.
Every other option of fsspec's libraries is this machine's to give (in
config.local.yaml): each library takes options that read a file of this
machine, run or load a program, or send its secrets, and a list of refused
names only ever covered the ones someone had found. So the committed file's
options are a closed list; anything else is refused where the config is read.

The second rule is the user's side of the same line: a password, a token or
a header that config.local.yaml gives is sent as it is to the host the URL
names (not signed per request, as S3's and Azure's keys are). Where only the
committed file names that host, a pull request that changes it has the next
push hand the secret to its server, so such a secret is used only with a URL
(and each option choosing the host) the user's own file gives too."""

from __future__ import annotations

from typing import Any

# What a value of an allowed option may be: any plain value (text, number,
# true/false, null, or a list of them), true/false only (a file's path would
# be read), or one of the listed texts.
PLAIN, FLAG = "plain", "flag"
Rule = str | tuple[str, ...] | dict[str, Any]

_S3: dict[str, Rule] = {
    "endpoint_url": PLAIN, "anon": FLAG, "key": PLAIN, "secret": PLAIN, "token": PLAIN,
    "profile": PLAIN, "use_ssl": FLAG, "requester_pays": FLAG, "version_aware": FLAG,
    "default_block_size": PLAIN, "default_fill_cache": FLAG, "default_cache_type": PLAIN,
    "cache_regions": FLAG, "fixed_upload_size": FLAG, "max_concurrency": PLAIN,
    "client_kwargs": {"region_name": PLAIN, "endpoint_url": PLAIN, "verify": FLAG,
                      "use_ssl": FLAG},
    "config_kwargs": {
        # Only versions that sign each request with the secret key: botocore's
        # `bearer` sends the profile's SSO access token as it is to the endpoint.
        "signature_version": ("s3v4", "v4", "s3"), "region_name": PLAIN, "connect_timeout": PLAIN,
        "read_timeout": PLAIN, "max_pool_connections": PLAIN, "tcp_keepalive": FLAG,
        "parameter_validation": FLAG, "use_dualstack_endpoint": FLAG,
        "use_fips_endpoint": FLAG, "request_checksum_calculation": PLAIN,
        "response_checksum_validation": PLAIN,
        "retries": {"max_attempts": PLAIN, "total_max_attempts": PLAIN, "mode": PLAIN},
        "s3": {"addressing_style": PLAIN, "use_accelerate_endpoint": FLAG,
               "payload_signing_enabled": FLAG, "us_east_1_regional_endpoint": PLAIN},
    },
    # A canned ACL that keeps objects private: a public one (public-read,
    # authenticated-read) made what a push wrote to the user's own bucket
    # readable by anyone; that is the bucket owner's to say.
    "s3_additional_kwargs": {"ServerSideEncryption": PLAIN, "SSEKMSKeyId": PLAIN,
                             "StorageClass": PLAIN, "RequestPayer": PLAIN,
                             "ACL": ("private", "bucket-owner-read", "bucket-owner-full-control"),
                             "BucketKeyEnabled": FLAG},
}
_GS: dict[str, Rule] = {
    "project": PLAIN, "requester_pays": PLAIN, "access": PLAIN, "consistency": PLAIN,
    "version_aware": FLAG, "default_location": PLAIN, "cache_timeout": PLAIN,
    # A path would be a file of this machine read as the credentials.
    "token": ("anon", "google_default", "cloud"),
}
_AZ: dict[str, Rule] = {
    "account_name": PLAIN, "anon": FLAG, "account_key": PLAIN, "sas_token": PLAIN,
    "blocksize": PLAIN, "version_aware": FLAG, "max_concurrency": PLAIN,
}
_SSH: dict[str, Rule] = {"port": PLAIN, "username": PLAIN, "password": PLAIN}
_HTTP: dict[str, Rule] = {
    "block_size": PLAIN, "simple_links": FLAG, "same_scheme": FLAG, "size_policy": PLAIN,
    "encoded": FLAG, "headers": {"*": PLAIN}, "client_kwargs": {"headers": {"*": PLAIN}},
}
_HDFS: dict[str, Rule] = {"host": PLAIN, "port": PLAIN, "user": PLAIN, "replication": PLAIN,
                          "buffer_size": PLAIN, "default_block_size": PLAIN}
_WEBHDFS: dict[str, Rule] = {"user": PLAIN, "use_https": FLAG, "password": PLAIN}
_FOLDER: dict[str, Rule] = {"auto_mkdir": FLAG}

ALLOWED: dict[str, dict[str, Rule]] = {
    "file": _FOLDER, "local": _FOLDER, "s3": _S3, "s3a": _S3, "gs": _GS, "gcs": _GS,
    "az": _AZ, "abfs": _AZ, "abfss": _AZ, "ssh": _SSH, "sftp": _SSH, "http": _HTTP,
    "https": _HTTP, "hdfs": _HDFS, "webhdfs": _WEBHDFS,
}

# Per protocol: the options sent as they are to the remote's host, and the
# options besides the URL that choose that host.
_SSE_C = ("s3_additional_kwargs.SSECustomerKey", "s3_additional_kwargs.CopySourceSSECustomerKey")
SENT_AS_IS: dict[str, tuple[str, ...]] = {
    "webhdfs": ("password", "token"), "ssh": ("password",), "sftp": ("password",),
    "http": ("headers", "client_kwargs.headers", "client_kwargs.auth", "auth"),
    "https": ("headers", "client_kwargs.headers", "client_kwargs.auth", "auth"),
    "az": ("sas_token", "credential"), "abfs": ("sas_token", "credential"),
    "abfss": ("sas_token", "credential"),
    # SSE-C: botocore sends the customer's key itself in a header of each request.
    "s3": _SSE_C, "s3a": _SSE_C,
}
# The protocols whose URL names any host at all (not a service's own, as
# s3's, gs's and az's do): every option config.local.yaml gives such a
# remote off its list may carry a secret there as it is, not only those of
# SENT_AS_IS (aiohttp's `cookies` and `params`, `client_kwargs.trust_env`
# sending ~/.netrc's login, asyncssh's `send_env` or `agent_forwarding`).
ANY_HOST = ("http", "https", "webhdfs", "ssh", "sftp")
# (A committed `port` leads an ssh password to another server of the same
# host; webhdfs's `use_https: false` sends the password in clear text, and
# s3's `use_ssl: false` or `verify: false` an SSE-C key to anyone on the way.)
_S3_HOST = ("endpoint_url", "client_kwargs.endpoint_url", "use_ssl", "client_kwargs.use_ssl",
            "client_kwargs.verify")
CHOOSES_HOST: dict[str, tuple[str, ...]] = {
    "ssh": ("port",), "sftp": ("port",), "webhdfs": ("use_https",),
    "s3": _S3_HOST, "s3a": _S3_HOST,
    "az": ("account_name", "account_host", "connection_string"),
    "abfs": ("account_name", "account_host", "connection_string"),
    "abfss": ("account_name", "account_host", "connection_string"),
}


def option_problem(protocol: str | None, options: dict[str, Any]) -> tuple[str, str] | None:
    """The dotted path of the first of `options` a committed remote of
    `protocol` may not give, and why; None where all are allowed. A remote
    whose protocol is no shared storage (a chain config.local.yaml gives)
    takes no storage option from the committed file."""
    allowed = ALLOWED.get(protocol or "", {})
    return _problem(options, allowed, "")


def _problem(options: dict[str, Any], allowed: dict[str, Rule],
             at: str) -> tuple[str, str] | None:
    for name, value in options.items():
        here = f"{at}.{name}" if at else str(name)
        rule = allowed.get(str(name), allowed.get("*"))
        if rule is None:
            return here, "is not an option a committed remote of this protocol may give"
        found = _value_problem(value, rule, here)
        if found is not None:
            return found
    return None


def _value_problem(value: Any, rule: Rule, here: str) -> tuple[str, str] | None:
    if isinstance(rule, dict):
        if not isinstance(value, dict):
            return here, "must be a mapping"
        return _problem(value, rule, here)
    if rule == FLAG:
        return None if isinstance(value, bool) else (here, "must be true or false")
    if isinstance(rule, tuple):
        return None if value in rule else (here, f"must be one of {', '.join(rule)}")
    plain = all(not isinstance(item, (dict, list)) for item in
                (value if isinstance(value, list) else [value]))
    return None if plain else (here, "must be a plain value")


def given_in(options: dict[str, Any], dotted: str) -> bool:
    """Whether the mapping `options` gives the option at the dotted path."""
    value: Any = options
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True
