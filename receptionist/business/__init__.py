"""Business configuration: YAML models and loading, hours, FAQ matching, routing, the prompt."""

from receptionist.business.faq import FAQIndex, FAQMatch
from receptionist.business.hours import (
    HoursStatus,
    business_status,
    department_status,
    describe_status,
    describe_week,
    hours_status,
)
from receptionist.business.loader import (
    ConfigError,
    ConfigIssue,
    load_business,
    load_businesses,
)
from receptionist.business.models import (
    Business,
    BusinessInfo,
    Calendar,
    Closure,
    Department,
    FAQEntry,
    MessageDelivery,
    Recording,
    Routing,
    Span,
    Voice,
    WeeklyHours,
)
from receptionist.business.phone import InvalidPhoneNumber, PhoneNumber, normalize_phone
from receptionist.business.prompt import build_instructions
from receptionist.business.routing import business_for_did, find_department

__all__ = [
    "Business",
    "BusinessInfo",
    "Calendar",
    "Closure",
    "ConfigError",
    "ConfigIssue",
    "Department",
    "FAQEntry",
    "FAQIndex",
    "FAQMatch",
    "HoursStatus",
    "InvalidPhoneNumber",
    "MessageDelivery",
    "PhoneNumber",
    "Recording",
    "Routing",
    "Span",
    "Voice",
    "WeeklyHours",
    "build_instructions",
    "business_for_did",
    "business_status",
    "department_status",
    "describe_status",
    "describe_week",
    "find_department",
    "hours_status",
    "load_business",
    "load_businesses",
    "normalize_phone",
]
