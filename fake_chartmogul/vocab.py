"""Word lists the dataset generator draws from.

Kept apart from the generator so its logic stays readable; the values only have to look
plausible and include the awkward cases (non-ASCII names, HTML in notes, missing states).
"""

from __future__ import annotations

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uwe",
    "Vera",
    "Wei",
    "Xenia",
    "Yusuf",
    "Zoë",
    "Björn",
    "Łukasz",
    "Søren",
    "Amélie",
)
LAST_NAMES = (
    "Adams",
    "Bauer",
    "Chen",
    "Dubois",
    "Evans",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Quist",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ulrich",
    "Vogel",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Novák",
    "Silva",
    "Kim",
    "Smith",
)
COMPANY_WORDS = (
    "Acme",
    "Blue",
    "Cloud",
    "Delta",
    "Echo",
    "Forge",
    "Giga",
    "Harbor",
    "Iron",
    "Jade",
    "Kite",
    "Lumen",
    "Metro",
    "Nimbus",
    "Orbit",
    "Pixel",
    "Quartz",
    "River",
    "Summit",
    "Tidal",
    "Umbra",
    "Vertex",
    "Willow",
    "Xeno",
    "Yonder",
    "Zenith",
    "Apex",
    "Bolt",
    "Cobalt",
    "Drift",
)
COMPANY_NOUNS = (
    "Labs",
    "Works",
    "Systems",
    "Analytics",
    "Media",
    "Software",
    "Logistics",
    "Health",
    "Studio",
    "Foods",
    "Robotics",
    "Partners",
)
COMPANY_SUFFIXES = ("Inc.", "GmbH", "Ltd", "LLC", "SAS", "B.V.", "AG", "")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.test", "corp.test")

# (code, full name, ((state code, state name), ...), cities)
COUNTRIES = (
    (
        "US",
        "United States",
        (
            ("CA", "California"),
            ("NY", "New York"),
            ("TX", "Texas"),
            ("WA", "Washington"),
            ("MA", "Massachusetts"),
        ),
        ("San Francisco", "New York", "Austin", "Seattle", "Boston"),
    ),
    (
        "CA",
        "Canada",
        (("ON", "Ontario"), ("QC", "Quebec"), ("BC", "British Columbia")),
        ("Toronto", "Montréal", "Vancouver"),
    ),
    (
        "DE",
        "Germany",
        (("BE", "Berlin"), ("BY", "Bavaria"), ("HH", "Hamburg")),
        ("Berlin", "München", "Hamburg"),
    ),
    ("GB", "United Kingdom", (), ("London", "Manchester", "Edinburgh")),
    ("FR", "France", (), ("Paris", "Lyon")),
    ("NL", "Netherlands", (), ("Amsterdam", "Utrecht")),
    ("ES", "Spain", (), ("Madrid", "Barcelona")),
    ("AU", "Australia", (("NSW", "New South Wales"), ("VIC", "Victoria")), ("Sydney", "Melbourne")),
    ("JP", "Japan", (), ("Tokyo", "Osaka")),
    ("BR", "Brazil", (("SP", "São Paulo"),), ("São Paulo",)),
)

DATA_SOURCES = (
    ("Stripe", "Stripe"),
    ("Import API", "In-house billing"),
    ("Custom", "Enterprise contracts"),
)

PLAN_TIERS = (
    ("Starter", 900),
    ("Basic", 1900),
    ("Team", 2900),
    ("Pro", 4900),
    ("Growth", 7900),
    ("Business", 9900),
    ("Premium", 14900),
    ("Scale", 24900),
    ("Enterprise", 49900),
    ("Plus", 3900),
)
# (interval_count, interval_unit, label, months per billing cycle)
PLAN_CADENCES = (
    (1, "month", "Monthly", 1.0),
    (1, "year", "Annual", 12.0),
    (3, "month", "Quarterly", 3.0),
    (6, "month", "Semiannual", 6.0),
    (30, "day", "30-day", 1.0),
)

TAGS = (
    "enterprise",
    "smb",
    "vip",
    "partner",
    "churn-risk",
    "annual",
    "beta",
    "education",
    "nonprofit",
    "trial-converted",
)
CHANNELS = ("Organic", "Paid Search", "Referral", "Partner", "Outbound")
LEAD_STATUSES = ("New Lead", "Working Lead", "Qualified Lead", "Unqualified Lead")
TITLES = ("CEO", "CFO", "CTO", "Head of Finance", "Billing Admin", "Product Manager", None)
NOTE_TEXTS = (
    "Spoke about renewal.\nWants annual pricing.",
    "<p>Asked for an <b>invoice copy</b>.</p>",
    "Onboarding call went well",
    "Customer mentioned a competitor — follow up next quarter.",
    "Requested SSO; escalated to product.",
    "",
)
TASK_DETAILS = (
    "Send renewal quote",
    "Schedule QBR",
    "Follow up on failed payment",
    "Check seat usage",
    "Offer annual plan",
    "Collect NPS feedback",
)
PIPELINE_STAGES = (
    ("New business", ("Discovery", "Demo", "Proposal", "Negotiation", "Won", "Lost")),
    ("Expansion", ("Qualified", "Proposal", "Won", "Lost")),
)
FORECAST_CATEGORIES = ("pipeline", "best_case", "committed", "lost", "won")
OWNERS = ("alice@vendor.test", "bob@vendor.test", "carol@vendor.test", "dan@vendor.test")
ONE_TIME_ITEMS = ("Setup fee", "Onboarding workshop", "Extra storage", "Consulting hours")
DISCOUNT_CODES = ("SUMMER20", "LAUNCH10", "EDU50", "BLACKFRIDAY")
