"""Service categories (服务类别): slugs in account codes and records, names on screen."""

SERVICE_CATEGORIES = {
    "elderly": "助老服务",
    "disability": "助残服务",
    "children": "儿童关爱",
    "governance": "社区治理",
    "emergency": "应急救援",
    "civility": "文明实践",
    "training": "培训",
}
