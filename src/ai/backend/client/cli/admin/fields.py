"""What each admin listing shows: the GraphQL fields the official CLI 23.9 requests, with
the same column headers, so both CLIs print the same table for the same server state."""

from __future__ import annotations

from ..output import Field, Nested, Slots, show_mib, show_names, show_size

F = Field

DOMAIN_LIST = [F("name"), F("description"), F("is_active"), F("created_at"),
               Slots("total_resource_slots"), F("allowed_vfolder_hosts"),
               F("allowed_docker_registries"), F("integration_id")]
DOMAIN_INFO = DOMAIN_LIST

GROUP_LIST = [F("id"), F("name"), F("is_active"), F("created_at"), F("integration_id")]
GROUP_INFO = [F("id"), F("name"), F("description"), F("is_active"), F("created_at"), F("domain_name"),
              Slots("total_resource_slots"), F("allowed_vfolder_hosts"),
              F("integration_id")]

USER_LIST = [F("uuid"), F("username"), F("role"), F("email"), F("full_name"),
             F("need_password_change"), F("status"), F("status_info"), F("created_at"),
             F("domain_name"), F("groups { id name }", fmt=show_names), F("allowed_client_ip"),
             F("sudo_session_enabled"), F("main_access_key")]

_FULL_NAME = F("user_info { full_name }", "Full Name", alt="full_name",
               pick=lambda v: v.get("full_name"))
KEYPAIR_LIST = [F("user_id", "Email"), F("projects"), _FULL_NAME, F("access_key"), F("secret_key"),
                F("is_active"), F("is_admin"), F("created_at"), F("last_used"),
                F("resource_policy"), F("rate_limit"), F("concurrency_used")]
KEYPAIR_INFO = [F("user_id", "Email"), _FULL_NAME, F("access_key"), F("secret_key"), F("is_active"),
                F("is_admin"), F("created_at"), F("last_used"), F("resource_policy"),
                F("rate_limit"), F("concurrency_used")]

POLICY_LIST = [F("name"), F("created_at"), F("total_resource_slots"), F("max_concurrent_sessions"),
               F("max_vfolder_count"), F("max_vfolder_size", fmt=show_size), F("idle_timeout"),
               F("max_containers_per_session"), F("allowed_vfolder_hosts")]

SGROUP_LIST = [F("name"), F("description"), F("is_active"), F("is_public"), F("created_at"),
               F("driver"), F("scheduler"), F("use_host_network"), F("wsproxy_addr"),
               F("wsproxy_api_token")]
SGROUP_INFO = [F("name"), F("description"), F("is_active"), F("is_public"), F("created_at"),
               F("driver"), Nested("driver_opts"), F("scheduler"), Nested("scheduler_opts"),
               F("use_host_network"), F("wsproxy_addr"), F("wsproxy_api_token")]

IMAGE_LIST = [F("name"), F("registry"), F("architecture"), F("tag"), F("digest"),
              F("size_bytes", fmt=show_size), F("aliases")]

AGENT_LIST = [F("id"), F("status"), F("scaling_group"), Slots("available_slots"),
              Slots("occupied_slots")]
AGENT_INFO = [F("id"), F("status"), F("region"), F("architecture"), F("first_contact"),
              F("cpu_cur_pct", "CPU Usage (%)"), F("mem_cur_bytes", "Used Memory (MiB)", fmt=show_mib),
              Slots("available_slots"), Slots("occupied_slots")]

SESSION = {f.key: f for f in [
    F("id", "Session ID", alt="session_id"), F("main_kernel_id", "Main Kernel ID"), F("tag"),
    F("name"), F("type"), F("image"), F("registry"), F("cluster_mode"), F("cluster_size"),
    F("domain_name"), F("group_name", "Project/Group"), F("group_id"), F("agent_ids"),
    F("user_email"), F("user_id"), F("access_key", "Owner Access Key"), F("status"),
    F("status_info"), Nested("status_data"), F("status_changed", "Last Updated"), F("created_at"),
    F("terminated_at"), F("starts_at"), F("scheduled_at"), F("startup_command"), F("result"),
    Nested("resource_opts"), F("scaling_group"), Nested("service_ports"), F("mounts"),
    Slots("occupying_slots"),
]}
SESSION_LIST = ["group_name", "main_kernel_id", "image", "type", "status", "status_info",
                "status_changed", "result"]
SESSION_DETAIL_EXTRA = ["tag", "created_at", "occupying_slots"]
SESSION_INFO = ["name", "session_id", "main_kernel_id", "image", "tag", "created_at",
                "terminated_at", "status", "status_info", "status_data", "occupying_slots"]

VFOLDER_LIST = [F("name"), F("id"), F("host"), F("usage_mode"), F("permission"), F("ownership_type"),
                F("status"), F("user", alt="user_id"), F("group", alt="group_id")]
