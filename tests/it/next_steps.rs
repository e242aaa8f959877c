//! Every next step surge prints works when pasted as it is, and never advises what was just done
//! (issue 25): each printed command is run here through `sh -c`, with the built `surge` first on
//! PATH, from the folder the user was in. The scenario's file name has a space, so the quoting is
//! tested too. All runs are `--simulate` (virtual time, no sockets). Also: outputs go to folders
//! of their own under reports/, and the paths printed are true.

use std::path::Path;
use std::process::{Command, Output};

fn copy_scenario(dir: &Path) -> &'static str {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    std::fs::copy(
        root.join("architect-publish-burst.toml"),
        dir.join("my burst.toml"),
    )
    .unwrap();
    std::fs::copy(root.join("flows.csv"), dir.join("flows.csv")).unwrap();
    "my burst.toml"
}

fn surge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `line` as a shell would, with the built binary as `surge`.
fn paste(dir: &Path, line: &str) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_surge")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
}

/// The line starting with `→`.
fn arrow(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with('→'))
        .unwrap_or_else(|| panic!("no next step in\n{out}"))
}

/// The first `…` quoted command in `line`.
fn backticked(line: &str) -> &str {
    line.split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in {line}"))
}

#[test]
fn the_probe_names_the_real_scenario_and_limit_json_and_the_paced_run_does_not_advise_probing() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(dir.path());
    let o = surge(dir.path(), &["probe", scenario, "--simulate"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("of virtual time (simulated)"),
        "the probe's time is virtual: {out}"
    );
    let line = arrow(&out);
    let cmd = line.split_once(": ").unwrap().1;
    assert!(
        cmd.starts_with("surge run 'my burst.toml' --pace-from reports/probe-")
            && cmd.ends_with("/limit.json --simulate"),
        "{line}"
    );
    let paced = paste(dir.path(), cmd);
    let pout = text(&paced);
    assert_eq!(paced.status.code(), Some(0), "{cmd}:\n{pout}");
    let next = arrow(&pout);
    assert!(
        next.starts_with("→ the pace from reports/probe-") && next.ends_with("held: no 429s."),
        "{next}"
    );
    assert!(
        !pout.contains("surge probe"),
        "advises what was just done:\n{pout}"
    );
}

#[test]
fn a_run_too_short_to_pace_prints_a_probe_command_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(dir.path());
    let o = surge(dir.path(), &["run", scenario, "--simulate"]);
    let out = text(&o);
    let line = arrow(&out);
    let cmd = backticked(line);
    assert_eq!(cmd, "surge probe 'my burst.toml' --simulate", "{line}");
    let probed = paste(dir.path(), cmd);
    assert_eq!(probed.status.code(), Some(0), "{cmd}:\n{}", text(&probed));
}

#[test]
fn a_run_whose_answers_were_all_404_is_told_about_the_404s_not_to_probe() {
    let dir = tempfile::tempdir().unwrap();
    let jmx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx");
    for f in ["seed_publish.jmx", "flows.csv"] {
        std::fs::copy(jmx.join(f), dir.path().join(f)).unwrap();
    }
    let o = surge(
        dir.path(),
        &["run", "seed_publish.jmx", "--simulate", "--target", "mock"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let line = arrow(&out);
    assert!(
        line.starts_with("→ all 500 answers were 404 (not found)"),
        "{line}"
    );
    assert!(!out.contains("surge probe"), "{out}");
    // The report says it too, instead of the probe advice.
    let dirs: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .flatten()
        .collect();
    let html = std::fs::read_to_string(dirs[0].path().join("report.html")).unwrap();
    assert!(html.contains("all 500 answers were 404"), "report.html");
    assert!(!html.contains("surge probe"), "report.html advises a probe");
}

#[test]
fn scenario_fields_given_as_flags_are_answered_with_their_set_form() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(dir.path());
    for (flags, want) in [
        (vec!["--threads", "5"], "--set load.threads=5"),
        (vec!["--loops", "3"], "--set load.loops=3"),
        (vec!["--ramp-up=10s"], "--set load.ramp_up=10s"),
        (vec!["--rate", "20"], "--set load.rate=20"),
        (vec!["--duration", "2 min"], "--set 'load.duration=2 min'"),
    ] {
        let mut args = vec!["run", scenario, "--simulate"];
        args.extend(&flags);
        let o = surge(dir.path(), &args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(&format!("`{want}`")), "{flags:?}: {err}");
        assert!(!err.contains("--threshold"), "{flags:?}: {err}");
        // The advice, pasted in place of the flag, runs.
        let line = format!("surge run 'my burst.toml' --simulate {want}");
        if !want.contains("rate") && !want.contains("duration") {
            let ok = paste(dir.path(), &line);
            assert_eq!(ok.status.code(), Some(0), "{line}:\n{}", text(&ok));
        }
    }
}

#[test]
fn a_jtl_s_reports_and_k8s_manifests_go_to_folders_of_their_own_under_reports() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(dir.path());
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("report.html"), "someone else's").unwrap();
    let o = surge(
        dir.path(),
        &["run", scenario, "--simulate", "--jtl", "shared/results.jtl"],
    );
    assert!(o.status.success(), "{}", text(&o));
    for _ in 0..2 {
        let o = surge(dir.path(), &["report", "shared/results.jtl"]);
        let out = text(&o);
        assert!(o.status.success(), "{out}");
        let report = out
            .lines()
            .find_map(|l| l.strip_prefix("report: "))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(report.starts_with("reports/results-"), "{report}");
        assert!(dir.path().join(report).exists(), "{report}");
        for l in out.lines().filter_map(|l| l.strip_prefix("wrote: ")) {
            assert!(dir.path().join(l).exists(), "{l}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(shared.join("report.html")).unwrap(),
        "someone else's",
        "nothing beside the JTL is overwritten"
    );
    // Two reports of one JTL in the same second get two folders.
    let folders = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("results-"))
        .count();
    assert_eq!(folders, 2);

    let o = surge(
        dir.path(),
        &[
            "k8s",
            scenario,
            "--parallelism",
            "2",
            "--target",
            "http://surge-mock:8080",
        ],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let wrote: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .collect();
    assert!(!wrote.is_empty(), "{out}");
    for f in wrote {
        assert!(f.starts_with("reports/k8s/"), "{f}");
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    assert!(!dir.path().join("k8s").exists());
}

#[test]
fn report_html_names_the_target_as_the_terminal_does_and_reads_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(dir.path());
    let o = surge(dir.path(), &["run", scenario, "--simulate", "-o", "r"]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).unwrap();
    assert!(
        text(&o).contains("target: built-in mock, preset seed")
            && html.contains("<p class=\"meta\"><span>built-in mock, preset seed</span><span>"),
        "the header names the target as the terminal does"
    );
    let meta = &html[html.find("<p class=\"meta\">").unwrap()..];
    let meta = &meta[..meta.find("</p>").unwrap()];
    assert!(
        meta.contains(" UTC</span>") && !meta.contains("Z</span>"),
        "a readable time, to the second: {meta}"
    );
    let diag = &html[html.find("id=\"diagnosis\"").unwrap()..];
    let diag = &diag[..diag.find("</section>").unwrap()];
    assert!(
        !diag.contains('`'),
        "Markdown backticks in the diagnosis: {diag}"
    );
    assert!(
        diag.contains("<code>surge probe &#39;my burst.toml&#39; --simulate</code>"),
        "{diag}"
    );
    assert!(
        diag.contains("<dt>limit named</dt><dd>HYPOTHESIS.architect.compile/"),
        "the tile names the limit: {diag}"
    );
    assert!(html.contains("<div class=\"k\">2xx service time, p95</div><div class=\"v\">"));
    assert!(
        html.contains("ramp_up = 10 s;") && html.contains("think_time = none;"),
        "the profile has units"
    );
}
