//! The integration tests: one test binary (so the support library and the test code compile
//! once, not once per file), one module per subject, over one support library
//! (`support/`). Every test starts the real processes it needs on ports chosen at run time
//! and kills them when it ends; tests run in parallel.

mod support;

mod acl;
mod agreement;
mod cli_args;
mod cli_daemonize;
mod command_arity;
mod config_bad_differential;
mod config_directive_table_differential;
mod config_directives;
mod config_fuzz_differential;
mod config_roundtrip;
mod config_save_safety;
mod coordinated_failover;
mod crash_failover;
mod deploy_haproxy;
mod deploy_migration;
mod deploy_netns;
mod deploy_recipes;
mod election_majority;
mod failover;
mod fuzz_regressions;
mod harness;
mod links_bad_peer;
mod links_credentials;
mod links_redis;
mod links_shared;
mod monitor;
mod ops_client_fields;
mod ops_forget;
mod ops_logging;
mod ops_metrics;
mod ops_package;
mod ops_proxy;
mod ops_state_file;
mod partition_netns;
mod refused;
mod rows_doc;
mod rows_event_text;
mod rows_events;
mod rows_monitoring;
mod rows_peers;
mod rows_replies;
mod rows_selection;
mod scale;
mod scripts_env;
mod scripts_queue;
mod scripts_runner;
mod selection_fresh;
mod sentinel_commands;
mod server_cli;
mod server_diff;
mod server_directives;
mod server_limits;
mod server_logging;
mod server_pause;
mod server_process;
mod server_runtime;
mod server_script_fork;
mod server_supervision;
mod tls;
mod valkey_names;
mod write_safety;
