"""Who may open which page: the one table of the web station's routes.

Every route of the application has its entry here, by the route's name: ``PUBLIC``
(signing in), ``SIGNED_IN`` (any account) or the actions of ``app.permissions`` of which
the visitor needs any one. The guard of every request reads this table, and a route
missing from it is refused to everyone (tests/test_web.py walks the route table for
every role and fails on such a route).
"""

from __future__ import annotations

from collections.abc import Callable

from broadcaster.app.live_feed import MAX_CHUNK_BYTES, chunk_too_large
from broadcaster.app.permissions import Action
from broadcaster.app.recordings import MAX_RECORDING_BYTES, too_large_message

PUBLIC = "public"
SIGNED_IN = "signed-in"

Need = str | tuple[Action, ...]

_READ_BULLETINS = (Action.BULLETIN_WRITE, Action.BULLETIN_APPROVE, Action.BULLETIN_REJECT)

NEEDS: dict[str, Need] = {
    # Đăng nhập
    "login_form": PUBLIC,
    "login": PUBLIC,
    "logout": SIGNED_IN,
    "password_form": SIGNED_IN,
    "password": SIGNED_IN,
    # Tổng quan
    "dashboard": SIGNED_IN,
    "dashboard_live": SIGNED_IN,
    # Bản tin
    "bulletins": _READ_BULLETINS,
    "bulletin_new_form": (Action.BULLETIN_WRITE,),
    "bulletin_create": (Action.BULLETIN_WRITE,),
    "bulletin": _READ_BULLETINS,
    "bulletin_edit_form": (Action.BULLETIN_WRITE,),
    "bulletin_save": (Action.BULLETIN_WRITE,),
    "bulletin_submit": (Action.BULLETIN_WRITE,),
    "bulletin_render": (Action.BULLETIN_WRITE,),
    "bulletin_audio": _READ_BULLETINS,
    "bulletin_preview": (Action.BULLETIN_WRITE,),
    "bulletin_recording_upload": (Action.BULLETIN_WRITE,),  # web/recording_pages
    "bulletin_recording": _READ_BULLETINS,
    # Duyệt
    "review_queue": (Action.BULLETIN_APPROVE, Action.BULLETIN_REJECT),
    "review": (Action.BULLETIN_APPROVE, Action.BULLETIN_REJECT),
    "review_approve": (Action.BULLETIN_APPROVE,),
    "review_reject": (Action.BULLETIN_REJECT,),
    # Nhật ký, Báo cáo, Người dùng (web/record_pages)
    "log": (Action.LOG_READ,),
    "log_csv": (Action.LOG_READ,),
    "log_verify": (Action.LOG_READ,),
    "audit": (Action.USERS_MANAGE,),
    "audit_verify": (Action.USERS_MANAGE,),
    "report_form": (Action.REPORT_MAKE, Action.EVIDENCE_MAKE),
    "report_make": (Action.REPORT_MAKE,),
    "evidence_make": (Action.EVIDENCE_MAKE,),
    "users": (Action.USERS_MANAGE,),
    "user_add": (Action.USERS_MANAGE,),
    "user": (Action.USERS_MANAGE,),
    "user_roles": (Action.USERS_MANAGE,),
    "user_disable": (Action.USERS_MANAGE,),
    "user_enable": (Action.USERS_MANAGE,),
    "user_reset": (Action.USERS_MANAGE,),
    # The operator's pages (web/operator_pages.py): Lịch phát, Khẩn cấp, Cụm loa; the
    # schedule is read by approvers and reporters too, the receivers by reporters.
    "schedule_week": (Action.SCHEDULE_QUEUE, Action.BULLETIN_APPROVE, Action.LOG_READ),
    "schedule_ics": (Action.SCHEDULE_QUEUE, Action.BULLETIN_APPROVE, Action.LOG_READ),
    "schedule_queue": (Action.SCHEDULE_QUEUE,),
    "schedule_cancel_form": (Action.SCHEDULE_CANCEL,),
    "schedule_cancel": (Action.SCHEDULE_CANCEL,),
    "emergency_form": (Action.EMERGENCY_AIR,),
    "emergency_confirm": (Action.EMERGENCY_AIR,),
    "emergency_air": (Action.EMERGENCY_AIR,),
    "emergency_progress": (Action.EMERGENCY_AIR,),
    "emergency_progress_live": (Action.EMERGENCY_AIR,),
    # Phát trực tiếp (web/live_pages)
    "live_form": (Action.LIVE_AIR,),
    "live_start": (Action.LIVE_AIR,),
    "live_audio": (Action.LIVE_AIR,),
    "live_stop": (Action.LIVE_AIR,),
    "live_state": (Action.LIVE_AIR,),
    "receivers": (Action.RECEIVERS_CONTROL, Action.LOG_READ),
    "receivers_volume": (Action.RECEIVERS_CONTROL,),
    # Cài đặt (web/settings_pages.py): the station's settings, the admin's
    "settings": (Action.SETTINGS_EDIT,),
    "settings_heading": (Action.SETTINGS_EDIT,),
    "settings_outputs": (Action.SETTINGS_EDIT,),
    "settings_zones": (Action.SETTINGS_EDIT,),
    "settings_sessions": (Action.SETTINGS_EDIT,),
    "settings_quiet_hours": (Action.SETTINGS_EDIT,),
    "settings_requirements": (Action.SETTINGS_EDIT,),
    # The JSON API (web/api.py): what the pages above read, as the same roles read it
    "api_schema": SIGNED_IN,
    "api_overview": SIGNED_IN,
    "api_calendar": (Action.SCHEDULE_QUEUE, Action.BULLETIN_APPROVE, Action.LOG_READ),
    "api_log": (Action.LOG_READ,),
    "api_log_verify": (Action.LOG_READ,),
    "api_receivers": (Action.RECEIVERS_CONTROL, Action.LOG_READ),
}

#: The routes that take a large body: the most they take (their form's few fields
#: included) and the one line that refuses more. The guard refuses a larger (or an
#: unmeasured) body before reading any of it; every other form is small.
BODY_LIMITS: dict[str, tuple[int, Callable[[], str]]] = {
    "bulletin_recording_upload": (MAX_RECORDING_BYTES + 64 * 1024, too_large_message),
    "live_audio": (MAX_CHUNK_BYTES + 1024, chunk_too_large),
}
