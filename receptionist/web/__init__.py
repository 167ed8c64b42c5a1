"""The office web page: inbox, calls with transcripts and recordings, live calls, bookings."""

from receptionist.web.app import create_app, start_web

__all__ = ["create_app", "start_web"]
