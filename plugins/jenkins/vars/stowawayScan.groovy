// stowawayScan: scan a container image with `stowaway ci` from a Jenkins pipeline.
// See stowawayScan.txt for the parameters. The step maps its parameters onto the CI contract's
// STOWAWAY_* variables (docs/ci-contract.md), runs `stowaway ci`, and publishes what it wrote:
// tests, issues, artifacts, and the build result from stowaway-outcome.json.

import groovy.transform.Field

// Step parameter -> the contract's variable. Defaults (gate: critical), validation, list parsing and
// the database step are the CLI's, so every adapter behaves the same.
@Field static final Map INPUTS = [
    image: 'STOWAWAY_IMAGE', policy: 'STOWAWAY_POLICY', failOn: 'STOWAWAY_FAIL_ON', onlyFixed: 'STOWAWAY_ONLY_FIXED',
    mode: 'STOWAWAY_MODE', severity: 'STOWAWAY_SEVERITY', reports: 'STOWAWAY_REPORTS', outputDir: 'STOWAWAY_OUTPUT_DIR',
    db: 'STOWAWAY_DB', offline: 'STOWAWAY_OFFLINE', dbMirror: 'STOWAWAY_DB_MIRROR', dbMaxAge: 'STOWAWAY_DB_MAX_AGE',
    baseline: 'STOWAWAY_BASELINE', ignoreFiles: 'STOWAWAY_IGNORE_FILES', vex: 'STOWAWAY_VEX',
    platform: 'STOWAWAY_PLATFORM', insecure: 'STOWAWAY_INSECURE', caFile: 'STOWAWAY_CA_FILE', cacheDir: 'STOWAWAY_CACHE_DIR',
    timeoutConnect: 'STOWAWAY_TIMEOUT_CONNECT', timeoutFirstByte: 'STOWAWAY_TIMEOUT_FIRST_BYTE',
    timeoutIdle: 'STOWAWAY_TIMEOUT_IDLE', requireSignature: 'STOWAWAY_REQUIRE_SIGNATURE', server: 'STOWAWAY_SERVER',
]
@Field static final List PARAMETERS = [
    'image', 'policy', 'failOn', 'onlyFixed', 'mode', 'severity', 'reports', 'outputDir', 'db', 'offline',
    'dbMirror', 'dbMaxAge', 'baseline', 'ignoreFiles', 'vex', 'platform', 'insecure', 'caFile', 'cacheDir',
    'timeoutConnect', 'timeoutFirstByte', 'timeoutIdle', 'requireSignature', 'server',
    'credentialsId', 'registryTokenCredentialsId', 'serverTokenCredentialsId', 'qualityGates', 'issuesId', 'command',
]

def call(Map args = [:]) {
    // A misspelt key would otherwise be ignored silently, and a gate option quietly not applied.
    for (Object key : args.keySet()) {
        if (!(key in PARAMETERS)) { error("stowawayScan: unknown parameter ${key}; use ${PARAMETERS.join(', ')}") }
    }
    String image = args.image ? args.image.toString() : ''
    if (!image) {
        error('stowawayScan: image is required (registry reference, oci-archive:PATH, docker-archive:PATH ...)')
    }
    String outputDir = (args.outputDir ?: 'stowaway-reports').toString()
    Map values = [:] + args
    values.outputDir = outputDir
    if (values.reports == null) { values.reports = ['junit', 'sarif', 'html'] }
    // The verdict quotes the table report's violation lines: core has neutralised them there
    // (docs/log-safety.md), while the JSON report holds the raw text, whose ESC bytes Jenkins would
    // read as console notes. So the table is always written too.
    String requested = inputValue(values.reports)
    if (!(requested.split(',').collect { it.trim() }.contains('table'))) {
        values.reports = requested ? "${requested},table".toString() : 'table'
    }
    String stderrFile = "${outputDir}/stowaway.stderr"

    List words = ['env']
    for (Object name : INPUTS.keySet()) {
        String value = inputValue(values[name])
        if (value) { words << "${INPUTS[name]}=${value}".toString() }
    }
    words << (args.command ?: 'stowaway').toString() << 'ci'
    // Secrets reach the CLI only as environment variables bound by withCredentials: never in the
    // Groovy-built command text, which Jenkins would echo and could not mask inside a GString.
    String script = "mkdir -p ${shellQuote(outputDir)} && ${shellWords(words)} 2>${shellQuote(stderrFile)}"
    List bindings = []
    if (args.credentialsId) {
        bindings << usernamePassword(credentialsId: args.credentialsId.toString(),
                usernameVariable: 'STOWAWAY_USERNAME', passwordVariable: 'STOWAWAY_PASSWORD')
    }
    if (args.registryTokenCredentialsId) {
        bindings << string(credentialsId: args.registryTokenCredentialsId.toString(), variable: 'STOWAWAY_REGISTRY_TOKEN')
    }
    if (args.serverTokenCredentialsId) {
        bindings << string(credentialsId: args.serverTokenCredentialsId.toString(), variable: 'STOWAWAY_SERVER_TOKEN')
    }

    int status
    if (bindings) {
        withCredentials(bindings) { status = sh(script: script, returnStatus: true) }
    } else {
        status = sh(script: script, returnStatus: true)
    }
    String stderr = fileExists(stderrFile) ? readFile(stderrFile).trim() : ''
    if (stderr) { echo(stderr) }

    String outcomeFile = "${outputDir}/stowaway-outcome.json"
    Map outcome = fileExists(outcomeFile) ? readJSON(file: outcomeFile) : [:]
    Map reports = outcome.reports ?: [:]
    if (status != 0 && status != 1 && !reports.json) {
        String reason = stderr ? stderr.readLines().last() : 'see the log above'
        error("Stowaway could not scan ${image} (exit ${status}): ${reason}")
    }

    // Evidence first: tests, issues and artifacts are recorded before the verdict ends the step.
    // An unchecked run wrote no SARIF: warnings-ng then records nothing rather than "no issues".
    if (reports.junit) {
        junit(testResults: reports.junit, allowEmptyResults: true)
    }
    if (reports.sarif) {
        Map issues = [tools: [sarif(pattern: reports.sarif, id: (args.issuesId ?: 'stowaway').toString(), name: 'Stowaway')],
                      enabledForFailure: true]
        if (args.qualityGates) { issues.qualityGates = args.qualityGates }
        recordIssues(issues)
    }
    archiveArtifacts(artifacts: "${outputDir}/**".toString(), allowEmptyArchive: true)

    String verdict = (outcome.outcome ?: 'unchecked').toString()
    Map summary = [outcome: verdict, exitCode: status, counts: outcome.counts, reports: reports,
                   violations: outcome.violations ?: 0]
    if (verdict == 'unchecked') {
        String reason = outcome.database && outcome.database.reason ? outcome.database.reason : 'no vulnerability database'
        currentBuild.result = 'FAILURE'
        error("Stowaway checked no vulnerabilities for ${image} (exit ${status}): ${reason}")
    }
    List lines = verdict != 'pass' && reports.table ? violationLines(reports.table.toString()) : []
    if (verdict == 'fail') {
        currentBuild.result = 'FAILURE'
        error("Stowaway gate failed for ${image}:\n${lines.join('\n')}")
    }
    if (verdict == 'warn') {
        currentBuild.result = 'UNSTABLE'
        echo("Stowaway gate violations (mode warn, not failing the build):\n${lines.join('\n')}")
    }
    return summary
}

/** The table report's `  ✗ rule: message` lines, already neutralised by core. */
private List violationLines(String tableFile) {
    String marker = '  \u2717 '
    List lines = []
    for (String line : readFile(tableFile).split('\n')) {
        if (line.startsWith(marker)) { lines << line.substring(marker.length()) }
    }
    return lines
}

/** One variable value: lists joined with commas (the contract's list separator), the rest as text. */
private String inputValue(Object value) {
    if (value == null) { return '' }
    if (value instanceof Collection) {
        List items = []
        for (Object item : value) { if (item != null && item.toString().trim()) { items << item.toString().trim() } }
        return items.join(',')
    }
    return value.toString()
}

/** POSIX single quoting: nothing inside '...' is special except the quote itself. */
static String shellQuote(String word) {
    return "'" + word.replace("'", "'\"'\"'") + "'"
}

static String shellWords(List words) {
    List quoted = []
    for (Object word : words) { quoted << shellQuote(word.toString()) }
    return quoted.join(' ')
}
