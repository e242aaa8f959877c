//! The integration tests, one module per area: one test binary to build and link instead of one per
//! file, each of which linked the whole of surge.

mod common;

mod architecture;
mod bounded_input;
mod canary;
mod ci_outputs;
mod closed_pipe;
mod compare_sweep;
mod conversations;
mod diagnosis_agrees;
mod distributed;
mod doc_samples;
mod dockerfile;
mod exits;
mod faults;
mod fuzz_inputs;
mod gates_e2e;
mod hostile_input;
mod jmeter_groups;
mod jmeter_import;
mod jmeter_jtl;
mod jmeter_mix;
mod jtl_memory;
mod k8s;
mod limit_mock;
mod mock_preset;
mod mock_tcp;
mod newcomer;
mod next_steps;
mod nginx_limit;
mod proxy_tls;
mod python_sdk;
mod readme_sample;
mod report_browser;
mod report_e2e;
mod run_e2e;
mod secrets;
mod seed_e2e;
mod signals;
mod simulate;
mod terminal_width;
mod transactions_out;
mod transport_e2e;
mod users_state;
