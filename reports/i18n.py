"""Every label, number and date format of the reports and the email, in English and Simplified Chinese.

The two dictionaries must hold the same keys (a test checks); a missing key is a KeyError, never a
silently English label in a Chinese report.
"""

from __future__ import annotations

import datetime as dt
import math

from loyalty.vocab import ALL

LOCALES = ("en", "zh-CN")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "report_title": "Customer loyalty report",
        "overview": "Overview",
        "segment": "Segment",
        "segment_all": "All customers",
        "segment_tier": "Tier {tier}",
        "week": "Week",
        "as_of": "As of",
        "generated_at": "Generated",
        "kpi_board": "KPI board",
        "kpi_board_note": "Company-wide KPIs over the trailing window ending on the week's last day.",
        "kpi": "KPI",
        "value": "Value",
        "target": "Target",
        "direction": "Direction",
        "change_7d": "Change vs 7 days earlier",
        "flag": "Status",
        "owner": "Owner",
        "n": "n",
        "low_sample": "low sample",
        "higher_better": "higher is better",
        "lower_better": "lower is better",
        "kpi_churn_rate": "Churn rate",
        "kpi_tier_a_kept_rate": "Tier-A kept rate",
        "kpi_complaint_timeliness": "Complaint resolution timeliness",
        "kpi_tier_d_activation": "Tier-D activation",
        "kpi_nps": "NPS",
        "kpi_repurchase_rate": "Repurchase rate",
        "flag_on_target": "on target",
        "flag_off_target": "off target",
        "flag_alert": "alert",
        "flag_no_target": "no target",
        "flag_no_data": "no data",
        "flag_unknown": "n/a",
        "segment_cards": "This segment",
        "customers": "Customers",
        "active_customers": "Active customers",
        "at_risk_customers": "At-risk customers",
        "monetary_total": "Value (RFM window)",
        "avg_score": "Average RFM score",
        "week_kept_rate": "Kept rate (week)",
        "week_retention_rate": "Retention rate (week)",
        "week_repurchase_rate": "Repurchase rate (week)",
        "week_nps": "NPS (week)",
        "kpi_trend": "KPI trend",
        "kpi_trend_note": "Value of each KPI on the last day of each week.",
        "nps_trend": "NPS trend",
        "nps_trend_note": "Weekly NPS with its 95 % margin of error (shaded).",
        "nps_band": "95 % margin",
        "cohort": "Cohort retention",
        "cohort_note": "Share of each first-order month's customers who ordered again k months later; hatched cells are incomplete months.",
        "cohort_month": "Cohort",
        "cohort_size": "Size",
        "month_offset": "Month +k",
        "cohort_average": "Weighted average",
        "incomplete": "incomplete",
        "tier_distribution": "Tier distribution",
        "tier": "Tier",
        "rfm_segment": "RFM segment",
        "share": "Share",
        "count": "Count",
        "tier_migration": "Tier migration vs previous week",
        "tier_migration_note": "Rows: tier 7 days earlier; columns: tier on the week's last day.",
        "prev_tier": "Tier 7 days earlier",
        "cur_tier": "Tier now",
        "new_customer": "new",
        "gone_customer": "left",
        "churn_reasons": "Churn reasons",
        "reason_inactive": "inactive",
        "reason_complaints": "complaints",
        "reason_activity_drop": "activity drop",
        "churn_risk_any": "any (churn risk)",
        "sla": "Service level by priority",
        "sla_note": "Tickets of the week; SLA met / (met + breached).",
        "priority": "Priority",
        "priority_all": "all",
        "priority_urgent": "urgent",
        "priority_important": "important",
        "priority_general": "general",
        "tickets": "Tickets",
        "met": "Met",
        "breached": "Breached",
        "sla_rate": "SLA rate",
        "complaint_sla_rate": "Complaint timeliness",
        "median_first_response_hours": "Median first response (h)",
        "median_resolution_hours": "Median resolution (h)",
        "satisfaction_mean": "Mean satisfaction",
        "at_risk": "At-risk customers",
        "at_risk_note": "Top {n} by value among customers flagged at risk.",
        "customer_id": "Customer",
        "masked_email": "Email (masked)",
        "last_order": "Last order",
        "first_order": "First order",
        "recency_days": "Recency (days)",
        "frequency": "Frequency",
        "monetary": "Value",
        "r": "R",
        "f": "F",
        "m": "M",
        "rfm_score": "RFM score",
        "segment_name": "RFM segment",
        "lifecycle_stage": "Lifecycle",
        "tags": "Tags",
        "reasons": "Reasons",
        "flagged_since": "Flagged since",
        "no_rows": "Nothing to show.",
        "not_available": "Not available in the database yet.",
        "data_quality": "Data quality",
        "source": "Source",
        "files": "Files",
        "rows_read": "Rows read",
        "rows_loaded": "Rows loaded",
        "rows_quarantined": "Rows quarantined",
        "quarantine_share": "Quarantined share",
        "duplicates_replaced": "Duplicates replaced",
        "reason_code": "Reason",
        "rows": "Rows",
        "quarantine_by_reason": "Quarantined rows by reason",
        "completeness": "Completeness of optional columns",
        "column": "Column",
        "filled_share": "Filled",
        "freshness": "Freshness",
        "last_order_day": "Last order day",
        "days_behind": "Days behind the week's last day",
        "fresh": "fresh",
        "stale": "stale",
        "thresholds": "Thresholds used",
        "setting": "Setting",
        "segments_overview": "Segments at a glance",
        "open_report": "open",
        "retention": "Retention by tier",
        "period_type": "Period",
        "period_start": "Period start",
        "start_count": "Active at start",
        "end_count": "Active at end",
        "new_count": "New",
        "kept_count": "Kept",
        "retention_rate": "Retention rate",
        "kept_rate": "Kept rate",
        "churn_rate": "Churn rate",
        "activation_rate": "Activation rate",
        "repurchase": "Repurchase",
        "buyers": "Buyers",
        "repeat_buyers": "Repeat buyers",
        "repurchase_rate": "Repurchase rate",
        "nps": "NPS",
        "responses": "Responses",
        "promoters": "Promoters",
        "passives": "Passives",
        "detractors": "Detractors",
        "nps_moe95": "Margin (95 %)",
        "csat": "CSAT",
        "csat_n": "CSAT n",
        "ces_mean": "CES mean",
        "ces_n": "CES n",
        "service": "Service",
        "summary": "Summary",
        "churn_warnings": "Churn warnings",
        "sheet_summary": "Summary",
        "sheet_customers": "Customers",
        "sheet_retention": "Retention",
        "sheet_churn": "Churn warnings",
        "sheet_nps": "NPS",
        "sheet_service": "Service",
        "sheet_quality": "Data quality",
        "sheet_thresholds": "Thresholds",
        "sheet_segments": "Segments",
        "full_lists": "Full customer lists",
        "customers_note_capped": "Showing the top {shown} of {total} customers by value; the full list is in {file}",
        "customers_note_complete": "All {total} customers of this segment, by value; also in {file}",
        "churn_note_capped": "Showing the top {shown} of {total} at-risk customers by value; the full list is in {file}",
        "churn_note_complete": "All {total} at-risk customers of this segment, by value; also in {file}",
        "email_subject": "Loyalty report {week}",
        "email_intro": "Weekly loyalty report for {week} ({start} – {end}).",
        "email_top_changes": "Biggest changes vs 7 days earlier",
        "email_attachment_note": "The overview workbook is attached; per-segment reports are in the report folder: {folder}",
        "email_charts": "Charts",
        "email_footer": "Sent by loyalty-pipeline. No customer personal data is included in this email.",
        "trend_up": "up",
        "trend_down": "down",
        "trend_flat": "unchanged",
        "alert_footer": "Sent by loyalty-pipeline (run-failure alert).",
    },
    "zh-CN": {
        "report_title": "客户忠诚度报告",
        "overview": "总览",
        "segment": "分群",
        "segment_all": "全部客户",
        "segment_tier": "{tier} 类客户",
        "week": "周",
        "as_of": "截至",
        "generated_at": "生成时间",
        "kpi_board": "关键指标看板",
        "kpi_board_note": "全公司指标，统计窗口截至本周最后一天。",
        "kpi": "指标",
        "value": "数值",
        "target": "目标",
        "direction": "方向",
        "change_7d": "较 7 天前变化",
        "flag": "状态",
        "owner": "负责人",
        "n": "样本数",
        "low_sample": "样本不足",
        "higher_better": "越高越好",
        "lower_better": "越低越好",
        "kpi_churn_rate": "流失率",
        "kpi_tier_a_kept_rate": "A 类客户保留率",
        "kpi_complaint_timeliness": "投诉处理及时率",
        "kpi_tier_d_activation": "D 类客户激活率",
        "kpi_nps": "净推荐值 (NPS)",
        "kpi_repurchase_rate": "复购率",
        "flag_on_target": "达标",
        "flag_off_target": "未达标",
        "flag_alert": "预警",
        "flag_no_target": "无目标",
        "flag_no_data": "无数据",
        "flag_unknown": "不适用",
        "segment_cards": "本分群",
        "customers": "客户数",
        "active_customers": "活跃客户数",
        "at_risk_customers": "流失风险客户数",
        "monetary_total": "消费金额（RFM 窗口）",
        "avg_score": "平均 RFM 得分",
        "week_kept_rate": "本周保留率",
        "week_retention_rate": "本周留存率",
        "week_repurchase_rate": "本周复购率",
        "week_nps": "本周 NPS",
        "kpi_trend": "指标趋势",
        "kpi_trend_note": "各指标在每周最后一天的数值。",
        "nps_trend": "NPS 趋势",
        "nps_trend_note": "每周 NPS 及其 95% 误差范围（阴影）。",
        "nps_band": "95% 误差范围",
        "cohort": "同期群留存",
        "cohort_note": "按首单月份分组的客户在第 k 个月再次下单的比例；斜线格为尚未结束的月份。",
        "cohort_month": "同期群",
        "cohort_size": "人数",
        "month_offset": "第 k 月",
        "cohort_average": "加权平均",
        "incomplete": "未完整",
        "tier_distribution": "客户等级分布",
        "tier": "等级",
        "rfm_segment": "RFM 分群",
        "share": "占比",
        "count": "数量",
        "tier_migration": "等级迁移（较上周）",
        "tier_migration_note": "行：7 天前的等级；列：本周最后一天的等级。",
        "prev_tier": "7 天前等级",
        "cur_tier": "当前等级",
        "new_customer": "新增",
        "gone_customer": "离开",
        "churn_reasons": "流失原因",
        "reason_inactive": "不活跃",
        "reason_complaints": "投诉过多",
        "reason_activity_drop": "活跃度下降",
        "churn_risk_any": "任一原因（流失风险）",
        "sla": "按优先级的服务时效",
        "sla_note": "本周工单；达标率 = 达标 / (达标 + 超时)。",
        "priority": "优先级",
        "priority_all": "全部",
        "priority_urgent": "紧急",
        "priority_important": "重要",
        "priority_general": "一般",
        "tickets": "工单数",
        "met": "达标",
        "breached": "超时",
        "sla_rate": "时效达标率",
        "complaint_sla_rate": "投诉处理及时率",
        "median_first_response_hours": "首次响应中位数（小时）",
        "median_resolution_hours": "解决时长中位数（小时）",
        "satisfaction_mean": "平均满意度",
        "at_risk": "流失风险客户",
        "at_risk_note": "流失风险客户中按消费金额排名前 {n} 位。",
        "customer_id": "客户编号",
        "masked_email": "邮箱（已脱敏）",
        "last_order": "最近下单",
        "first_order": "首次下单",
        "recency_days": "最近下单距今（天）",
        "frequency": "下单频次",
        "monetary": "消费金额",
        "r": "R",
        "f": "F",
        "m": "M",
        "rfm_score": "RFM 得分",
        "segment_name": "RFM 分群",
        "lifecycle_stage": "生命周期",
        "tags": "标签",
        "reasons": "原因",
        "flagged_since": "预警起始日",
        "no_rows": "暂无数据。",
        "not_available": "数据库中尚无此数据。",
        "data_quality": "数据质量",
        "source": "数据源",
        "files": "文件数",
        "rows_read": "读取行数",
        "rows_loaded": "入库行数",
        "rows_quarantined": "隔离行数",
        "quarantine_share": "隔离占比",
        "duplicates_replaced": "重复替换数",
        "reason_code": "原因",
        "rows": "行数",
        "quarantine_by_reason": "按原因统计的隔离行",
        "completeness": "可选字段完整度",
        "column": "字段",
        "filled_share": "填充率",
        "freshness": "数据新鲜度",
        "last_order_day": "最近订单日期",
        "days_behind": "距本周最后一天的天数",
        "fresh": "及时",
        "stale": "滞后",
        "thresholds": "所用阈值",
        "setting": "设置项",
        "segments_overview": "各分群概览",
        "open_report": "打开",
        "retention": "按等级的留存",
        "period_type": "周期",
        "period_start": "周期开始",
        "start_count": "期初活跃",
        "end_count": "期末活跃",
        "new_count": "新客",
        "kept_count": "保留",
        "retention_rate": "留存率",
        "kept_rate": "保留率",
        "churn_rate": "流失率",
        "activation_rate": "激活率",
        "repurchase": "复购",
        "buyers": "购买客户数",
        "repeat_buyers": "复购客户数",
        "repurchase_rate": "复购率",
        "nps": "净推荐值",
        "responses": "回复数",
        "promoters": "推荐者",
        "passives": "中立者",
        "detractors": "贬损者",
        "nps_moe95": "误差范围（95%）",
        "csat": "满意度 (CSAT)",
        "csat_n": "CSAT 样本数",
        "ces_mean": "费力度均值 (CES)",
        "ces_n": "CES 样本数",
        "service": "客服",
        "summary": "摘要",
        "churn_warnings": "流失预警",
        "sheet_summary": "摘要",
        "sheet_customers": "客户",
        "sheet_retention": "留存",
        "sheet_churn": "流失预警",
        "sheet_nps": "NPS",
        "sheet_service": "客服",
        "sheet_quality": "数据质量",
        "sheet_thresholds": "阈值",
        "sheet_segments": "分群",
        "full_lists": "完整客户名单",
        "customers_note_capped": "按消费金额显示前 {shown} 位客户（共 {total} 位）；完整名单见 {file}",
        "customers_note_complete": "本分群全部 {total} 位客户（按消费金额排序）；另见 {file}",
        "churn_note_capped": "按消费金额显示前 {shown} 位流失风险客户（共 {total} 位）；完整名单见 {file}",
        "churn_note_complete": "本分群全部 {total} 位流失风险客户（按消费金额排序）；另见 {file}",
        "email_subject": "客户忠诚度周报 {week}",
        "email_intro": "{week}（{start} 至 {end}）客户忠诚度周报。",
        "email_top_changes": "较 7 天前变化最大的指标",
        "email_attachment_note": "附件为总览工作簿；各分群报告位于报告目录：{folder}",
        "email_charts": "图表",
        "email_footer": "由 loyalty-pipeline 发送。本邮件不含任何客户个人信息。",
        "trend_up": "上升",
        "trend_down": "下降",
        "trend_flat": "持平",
        "alert_footer": "由 loyalty-pipeline 发送（运行失败告警）。",
    },
}

# Excel number formats per locale (xlsxwriter num_format strings).
EXCEL_FORMATS: dict[str, dict[str, str]] = {
    "en": {
        "date": "dd mmm yyyy",
        "datetime": "dd mmm yyyy hh:mm",
        "percent": "0.0%",
        "integer": "#,##0",
        "decimal": "#,##0.00",
        "score": "0.0",
    },
    "zh-CN": {
        "date": 'yyyy"年"m"月"d"日"',
        "datetime": 'yyyy"年"m"月"d"日" hh:mm',
        "percent": "0.0%",
        "integer": "#,##0",
        "decimal": "#,##0.00",
        "score": "0.0",
    },
}

_CURRENCY_SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥", "JPY": "¥"}
_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class Translator:
    """Labels and display formats for one locale; `t("key", n=3)` formats placeholders."""

    def __init__(self, locale: str, currency: str = "GBP"):
        if locale not in LABELS:
            raise KeyError(f"unknown locale {locale!r}; known: {list(LABELS)}")
        self.locale = locale
        self.labels = LABELS[locale]
        self.currency = currency
        self.excel = EXCEL_FORMATS[locale]

    def __call__(self, key: str, **kwargs: object) -> str:
        text = self.labels[key]
        return text.format(**kwargs) if kwargs else text

    def segment_name(self, segment: str) -> str:
        if segment == ALL:
            return self("segment_all")
        if segment == "overview":
            return self("overview")
        return self("segment_tier", tier=segment)

    def label_or(self, key: str, fallback: str) -> str:
        return self.labels.get(key, fallback)

    # --- display formats (HTML, email) ---
    def number(self, v: float | int | None, digits: int = 0) -> str:
        if v is None or _missing(v):
            return "–"
        return f"{v:,.{digits}f}"

    def percent(self, v: float | None, digits: int = 1) -> str:
        if v is None or _missing(v):
            return "–"
        return f"{100 * v:,.{digits}f}%"

    def points(self, v: float | None, digits: int = 1, signed: bool = False) -> str:
        if v is None or _missing(v):
            return "–"
        return f"{v:+,.{digits}f}" if signed else f"{v:,.{digits}f}"

    def money(self, v: float | None) -> str:
        if _missing(v):
            return "–"
        symbol = _CURRENCY_SYMBOL.get(self.currency)
        if symbol and self.locale == "en":
            return f"{symbol}{v:,.2f}"
        return f"{v:,.2f} {self.currency}" if not symbol else f"{symbol}{v:,.2f}"

    def date(self, d: dt.date | None) -> str:
        if d is None:
            return "–"
        if isinstance(d, dt.datetime):
            d = d.date()
        if self.locale == "zh-CN":
            return f"{d.year}年{d.month}月{d.day}日"
        return f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}"

    def datetime(self, t: dt.datetime | None) -> str:
        if t is None:
            return "–"
        return f"{self.date(t)} {t:%H:%M}"


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
