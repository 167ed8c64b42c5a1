"""Several receptionist instances on one Asterisk: what makes each one distinct.

Instance I (1, 2, ...) is the ARI app `<ari_app>-I`, which the dialplan's
[receptionist-stasis] tries in turn (RECEPTIONIST_INSTANCES = N), and listens on the
configured ports moved up by PORT_STEP * (I-1) so that instances can share a host (with
the defaults 9092/9097/9098, instance 2 listens on 9102/9107/9108). Port 0 (any free
port) stays 0.
"""

from __future__ import annotations

from receptionist.settings import Settings

PORT_FIELDS = ("audiosocket_port", "metrics_port", "web_port")
PORT_STEP = 10  # apart enough that the default ports of neighbours never collide


def app_name(base: str, instance: int) -> str:
    """The ARI app of one instance, as the dialplan names it."""
    return f"{base}-{instance}"


def instance_settings(settings: Settings, instance: int) -> Settings:
    """`settings` as instance `instance` runs them (raises ValueError on a port past 65535)."""
    shift = PORT_STEP * (instance - 1)
    update: dict[str, object] = {
        name: getattr(settings, name) + shift for name in PORT_FIELDS if getattr(settings, name)
    }
    update["ari_app"] = app_name(settings.ari_app, instance)
    update["instance"] = None  # applied: the copy is one plain instance
    update["workers"] = 1
    if settings.audiosocket_advertise is not None:
        host, _, port = settings.audiosocket_advertise.rpartition(":")
        update["audiosocket_advertise"] = f"{host}:{int(port) + shift}"
    return settings.model_copy(update=update)
