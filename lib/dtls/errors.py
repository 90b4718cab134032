"""Exceptions of the dtls package. Each fatal error carries the alert it maps to."""
from .const import alert_name


class DTLSError(Exception):
    """A DTLS failure. `alert` is the alert description (int) sent to or received from
    the peer, or None when no alert applies (timeouts, local misuse)."""

    def __init__(self, message, alert=None):
        super().__init__(message)
        self.message = message
        self.alert = alert

    def __str__(self):
        name = alert_name(self.alert) if self.alert is not None else None
        if name is None or name in self.message:
            return self.message
        return "%s (%s)" % (self.message, name)


class AlertReceived(DTLSError):
    """The peer sent a fatal alert (RFC 5246 §7.2.2)."""


class HandshakeTimeout(DTLSError):
    """The handshake did not complete within the configured time (RFC 6347 §4.2.4)."""


class ConnectionClosed(DTLSError):
    """The connection is closed (close_notify received or sent)."""
