"""The command line's options, each also read from its FISHSHOP_<OPTION> variable.

Also the option groups and readers that several commands share: Kafka, the hot
cabinet, the shop, a worker.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from fishshop.errors import UsageError
from fishshop_workers.cabinet.connection import CabinetConnection
from fishshop_workers.kafka.settings import SASL_MECHANISMS, KafkaSettings, read_sasl_password
from fishshop_workers.shop.topics import topic_prefix

__all__ = [
    "PORT",
    "PORT_OR_ANY",
    "Subparsers",
    "cabinet_connection",
    "cabinet_options",
    "env_name",
    "kafka_options",
    "kafka_settings",
    "option",
    "seconds",
    "shop_options",
    "shop_prefix",
    "whole",
    "worker_options",
]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: each command adds its parser to it."""


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``), or a one-line
    error that says what is wanted."""
    wanted = (
        f"a whole number from {low} to {high}"
        if high is not None
        else (f"a whole number of at least {low}")
    )

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{wanted}, not {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{wanted}, not {value}")
        return value

    read.__name__ = "whole number"
    return read


def seconds(*, above_zero: bool = False, unit: str = "seconds") -> Callable[[str], float]:
    """An argparse type: a number of ``unit``, at least 0 (or above 0)."""
    wanted = f"{unit} above 0" if above_zero else f"{unit}, 0 or more"

    def read(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{wanted}, not {text!r}") from None
        if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
            raise argparse.ArgumentTypeError(f"{wanted}, not {text}")
        return value

    read.__name__ = unit
    return read


PORT = whole(1, 65535)
"""A TCP port."""
PORT_OR_ANY = whole(0, 65535)
"""A TCP port, or 0 for any free one."""


def env_name(option: str) -> str:
    """``--bootstrap-servers`` reads ``FISHSHOP_BOOTSTRAP_SERVERS``."""
    return "FISHSHOP_" + option.lstrip("-").replace("-", "_").upper()


class _AppendOverEnvironment(argparse._AppendAction):
    """Append, but the first value given on the command line replaces the variable's."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)


class _CountOverEnvironment(argparse._CountAction):
    """Count on from the variable's number, which ``read`` checks and names the
    variable when it refuses."""

    def __init__(self, *args: Any, read: Callable[[str], int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read = read
        self.type = read  # argparse reads the variable's number with it when no flag is given

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        count = getattr(namespace, self.dest, None)
        if isinstance(count, str):  # the variable's, not read yet
            try:
                setattr(namespace, self.dest, self.read(count))
            except argparse.ArgumentTypeError as error:
                raise argparse.ArgumentError(self, str(error)) from None
        super().__call__(parser, namespace, values, option_string)


class _FlagOverEnvironment(argparse._StoreConstAction):
    """A flag whose variable holds neither a true nor a false word: given on the
    command line, the flag wins; else argparse reads the variable's text with ``read``
    (as it reads any text default), which refuses it and names the variable."""

    def __init__(self, *args: Any, read: Callable[[str], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type = read


_TRUE = {"1", "true", "yes", "on"}
"""What a flag's variable says to mean "given"."""

_FALSE = {"", "0", "false", "no", "off"}
"""What a flag's variable says to mean "not given"; any other word is refused."""

_FLAGS = {"store_true": True, "store_false": False}
"""Flag actions and what each stores when given (store_const: its ``const``)."""

_ACTIONS = {None, "store", "append", "store_true", "store_false", "store_const", "count"}
"""The actions whose value a variable can give."""


class _FromVariable(str):
    """A value read from a FISHSHOP_ variable, not typed on the command line (an equal
    string typed there is another object, even a one-letter one)."""


def option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    *,
    short: str | None = None,
    command: str | None = None,
    **kwargs: Any,
) -> None:
    """Add option ``name`` whose default comes from its FISHSHOP_ variable; with
    ``command``, the variable is the command's own (``fishshop broker --port`` reads
    FISHSHOP_BROKER_PORT), for an option two commands mean differently; ``short`` is
    its one-letter form (``-f``).

    A stored value is read with the option's type; a flag's variable gives the flag
    (1, true, yes, on) or not (0, false, no, off, empty), and any other word is
    refused; a count's variable is the number it counts on from."""
    action = kwargs.get("action")
    if action not in _ACTIONS:
        raise ValueError(f"{name}: a FISHSHOP_ variable cannot give action {action!r}")
    env = env_name(f"{command}-{name.lstrip('-')}" if command else name)
    builtin = kwargs.get("default", not _FLAGS[action] if action in _FLAGS else None)
    read_as = env
    if command and env not in os.environ and env_name(name) in os.environ:
        read_as = env_name(name)  # the name before it was the command's own
    if read_as in os.environ:
        raw = _FromVariable(os.environ[read_as])
        if action in (None, "store"):
            # Only a stored value has a type, which argparse reads the variable with.
            kwargs["default"] = raw
            kwargs["type"] = _from_variable(
                read_as, raw, kwargs.get("type"), kwargs.get("choices"), renamed_to=env
            )
        elif action == "append":
            kwargs["default"] = [str(raw)]
            kwargs["action"] = _AppendOverEnvironment
        elif action == "count":
            kwargs["default"] = raw
            kwargs["action"] = _CountOverEnvironment
            kwargs["read"] = _from_variable(read_as, raw, whole(0), None)
        elif raw.strip().lower() in _TRUE:  # a flag: the variable gives it
            kwargs["default"] = _FLAGS.get(str(action), kwargs.get("const"))
        elif raw.strip().lower() not in _FALSE:
            kwargs["const"] = _FLAGS.get(str(action), kwargs.get("const"))
            kwargs["default"] = raw
            kwargs["action"] = _FlagOverEnvironment
            kwargs["read"] = _refuse_flag_word(read_as)
    kwargs["help"] = f"{kwargs.get('help', '')} [env {env}]".strip()
    added = parser.add_argument(*([short] if short else []), name, **kwargs)
    if isinstance(parser, argparse._MutuallyExclusiveGroup) and read_as in os.environ:
        setattr(added, _VARIABLE, (read_as, builtin))


_VARIABLE = "fishshop_variable"
"""The attribute of an option of a one-of group whose default a variable set: the
variable and the option's own default."""


def settle_one_of(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
) -> None:
    """In a group of options of which one may be given (report's --json or --csv,
    demo's --scenario or --file), the one typed wins over the others' variables, and
    two set only by variables are refused (argparse checks typed options only)."""
    for group in parser._mutually_exclusive_groups:
        typed = [a for a in group._group_actions if _typed(a, argv)]
        set_by_variables = []
        for action in group._group_actions:
            variable, builtin = getattr(action, _VARIABLE, (None, None))
            if variable is None or action in typed:
                continue
            if typed:
                setattr(args, action.dest, builtin)
            elif getattr(args, action.dest) != builtin:
                set_by_variables.append(variable)
        if len(set_by_variables) > 1:
            parser.error(
                f"{' and '.join(set_by_variables)} are both set, and only one of them may "
                "be: unset one, or give the option you mean on the command line"
            )


def _typed(action: argparse.Action, argv: Sequence[str]) -> bool:
    """Whether ``argv`` names the option (``--json``, an abbreviation ``--js``,
    ``--file=x``, ``-f x``, ``-fx``)."""
    for word in argv:
        if word == "--":
            return False
        name = word.split("=", 1)[0]
        for option_string in action.option_strings:
            if option_string.startswith("--"):
                if name.startswith("--") and len(name) > 2 and option_string.startswith(name):
                    return True
            elif word.startswith(option_string):
                return True
    return False


def _refuse_flag_word(env: str) -> Callable[[str], bool]:
    """What reads a flag's variable that is neither true nor false: it refuses."""
    true, false = ", ".join(sorted(_TRUE)), ", ".join(sorted(_FALSE - {""}))
    words = f"a true word ({true}) or a false word ({false}, or nothing)"

    def read(text: str) -> bool:
        raise argparse.ArgumentTypeError(f"{words}, not {text!r} (from {env})")

    read.__name__ = "true or false word"
    return read


def _from_variable(
    env: str,
    raw: str,
    read: Callable[[str], Any] | None,
    choices: Any,
    renamed_to: str | None = None,
) -> Callable[[str], Any]:
    """The option's type, which also names the variable when the value that it refuses
    came from it (argparse reads a default as it reads the command line, and checks
    no default against ``choices``: this does). A variable ``renamed_to`` another
    (FISHSHOP_PORT, now FISHSHOP_BROKER_PORT) is still read, with a warning."""

    def read_named(text: str) -> Any:
        from_variable = isinstance(text, _FromVariable)
        if from_variable and renamed_to not in (None, env):
            print(
                f"fishshop: warning: {env} is read as {renamed_to} in this release only; "
                f"rename it to {renamed_to}",
                file=sys.stderr,
            )
        try:
            value = read(text) if read is not None else text
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            if not from_variable:  # given on the command line: argparse says it
                raise
            said = str(error) if isinstance(error, argparse.ArgumentTypeError) else ""
            wanted = said or f"a {getattr(read, '__name__', 'value')}, not {raw!r}"
            raise argparse.ArgumentTypeError(f"{wanted} (from {env})") from None
        if from_variable and choices is not None and value not in choices:
            allowed = ", ".join(map(str, choices))
            raise argparse.ArgumentTypeError(f"one of {allowed}, not {raw!r} (from {env})")
        return str(value) if isinstance(value, _FromVariable) else value  # a plain str

    read_named.__name__ = getattr(read, "__name__", "value")
    return read_named


def kafka_options(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_argument_group("Kafka connection")
    option(
        group,
        "--bootstrap-servers",
        metavar="HOST:PORT",
        help="Kafka to use" + ("" if required else " (default: start the embedded broker)"),
    )
    option(
        group,
        "--certs-dir",
        type=Path,
        help="folder with ca.pem, service.cert, service.key for TLS",
    )
    option(
        group,
        "--tls",
        action="store_true",
        help="TLS with the system's certificate authorities (no --certs-dir: a Kafka "
        "with a public certificate)",
    )
    option(
        group,
        "--sasl-mechanism",
        choices=SASL_MECHANISMS,
        help="SASL mechanism",
    )
    option(group, "--sasl-username", help="SASL user")
    option(
        group,
        "--sasl-password",
        help="SASL password; visible to every user of the machine in `ps`: "
        "prefer --sasl-password-file or the variable",
    )
    option(
        group,
        "--sasl-password-file",
        type=Path,
        metavar="PATH",
        help="file holding the SASL password (one trailing newline is ignored)",
    )


WORKER_CABINET = (
    "With --redis-url, preparers serve from a hot cabinet in Redis and the cook keeps "
    "it stocked; the password may also come from FISHSHOP_REDIS_PASSWORD."
)


def cabinet_options(
    parser: argparse.ArgumentParser,
    about: str = WORKER_CABINET,
    without_url: str = "no cabinet",
) -> argparse._ArgumentGroup:
    """The hot cabinet's Redis options; ``without_url`` says what happens without one."""
    group = parser.add_argument_group("hot cabinet (Redis)", about)
    option(
        group,
        "--redis-url",
        metavar="URL",
        help=f"redis://HOST:PORT[/DB], or rediss:// for TLS (default: {without_url})",
    )
    option(
        group,
        "--redis-user",
        metavar="NAME",
        help="Redis ACL user, a shop's own on a shared Redis (default: the default user)",
    )
    option(group, "--redis-password-file", type=Path, metavar="FILE", help="Redis password")
    option(group, "--redis-ca-file", type=Path, metavar="FILE", help="CA of a rediss:// server")
    return group


def shop_options(parser: argparse.ArgumentParser) -> None:
    option(parser, "--shop", required="FISHSHOP_SHOP" not in os.environ, help="the shop's name")
    option(parser, "--namespace", help="Kubernetes namespace of the shop, if any")
    option(parser, "--topic-prefix", help="topic prefix (default fishshop.[NAMESPACE.]SHOP)")


def worker_options(parser: argparse.ArgumentParser) -> None:
    """What every worker (till, preparer, cook) takes: its shop, Kafka, metrics, name."""
    shop_options(parser)
    kafka_options(parser, required=True)
    option(
        parser,
        "--metrics-port",
        type=PORT_OR_ANY,
        default=8000,
        help="port for /metrics, /healthz and /readyz (0: any free port)",
    )
    option(
        parser,
        "--metrics-host",
        default="0.0.0.0",  # noqa: S104 - pods are scraped from outside
        help="address to serve metrics on (a pod passes its own IP)",
    )
    option(
        parser,
        "--worker-name",
        default=socket.gethostname(),
        help="name in served records and metrics",
    )
    option(
        parser,
        "--create-topics",
        action="store_true",
        help="create the shop's topics if missing (the operator does this in a cluster)",
    )
    option(parser, "--partitions", type=whole(1), default=3, help="partitions for --create-topics")


def _sasl_password(args: argparse.Namespace) -> str | None:
    """The password from --sasl-password or --sasl-password-file (or their
    variables); both at once is ambiguous, so it is refused."""
    if args.sasl_password_file is None:
        return None if args.sasl_password is None else str(args.sasl_password)
    if args.sasl_password is not None:
        raise UsageError(
            "give the SASL password once: --sasl-password (FISHSHOP_SASL_PASSWORD) or "
            "--sasl-password-file (FISHSHOP_SASL_PASSWORD_FILE), not both"
        )
    return read_sasl_password(Path(args.sasl_password_file))


def kafka_settings(args: argparse.Namespace, bootstrap: str | None = None) -> KafkaSettings:
    """How to reach Kafka, from the Kafka options (``bootstrap`` wins when given)."""
    settings = KafkaSettings(
        bootstrap_servers=bootstrap or args.bootstrap_servers or "",
        certs_dir=Path(args.certs_dir) if args.certs_dir else None,
        tls=bool(getattr(args, "tls", False)),
        sasl_mechanism=args.sasl_mechanism,
        sasl_username=args.sasl_username,
        sasl_password=_sasl_password(args),
    )
    settings.check()
    return settings


def _one_line(value: str | None) -> str | None:
    """``value`` without one trailing newline, as the Secret files are read (a Secret
    made from a file written by echo ends in one)."""
    if value is None:
        return None
    for ending in ("\r\n", "\n"):
        if value.endswith(ending):
            return value[: -len(ending)]
    return value


def cabinet_connection(args: argparse.Namespace) -> CabinetConnection | None:
    """How to reach the hot cabinet's Redis, or None when the shop has no cabinet."""
    if not getattr(args, "redis_url", None):
        return None
    return CabinetConnection(
        str(args.redis_url),
        username=_one_line(args.redis_user) or None,
        password=os.environ.get("FISHSHOP_REDIS_PASSWORD") or None,
        password_file=args.redis_password_file,
        tls_ca_file=args.redis_ca_file,
    )


def shop_prefix(args: argparse.Namespace) -> str:
    """The shop's topic prefix, from the shop options."""
    return topic_prefix(args.shop, args.namespace, args.topic_prefix)
