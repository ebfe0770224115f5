// stowawayScan: scan a container image with the Stowaway CLI from a Jenkins pipeline.
// See stowawayScan.txt for the parameters. The CLI does the scanning and the gate; this step only
// maps its exit code and JSON report onto Jenkins results, tests, issues and artifacts.

import groovy.transform.Field

// Same file names as the other adapters (core REPORT_FILE_EXTENSIONS), so pipelines can switch CI.
@Field static final Map REPORT_FILES = [
    table: 'stowaway.txt', json: 'stowaway.json', sarif: 'stowaway.sarif', junit: 'stowaway.junit.xml',
    gitlab: 'stowaway.gitlab.json', markdown: 'stowaway.md', html: 'stowaway.html',
    cyclonedx: 'stowaway.cdx.json', spdx: 'stowaway.spdx.json',
]
@Field static final List GATE_SEVERITIES = ['critical', 'high', 'medium', 'low', 'none']
@Field static final List PARAMETERS = [
    'image', 'policy', 'failOn', 'onlyFixed', 'mode', 'severity', 'reports', 'outputDir', 'db', 'offline',
    'baseline', 'ignoreFiles', 'vex', 'platform', 'insecure', 'caFile', 'cacheDir', 'credentialsId',
    'registryTokenCredentialsId', 'qualityGates', 'issuesId', 'command',
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
    String mode = (args.mode ?: 'enforce').toString()
    if (!(mode in ['enforce', 'warn'])) {
        error("stowawayScan: mode must be enforce or warn, not ${mode}")
    }
    if (args.failOn && !(args.failOn.toString() in GATE_SEVERITIES)) {
        error("stowawayScan: failOn must be one of ${GATE_SEVERITIES.join(', ')}, not ${args.failOn}")
    }
    String outputDir = (args.outputDir ?: 'stowaway-reports').toString()
    Map reports = reportFiles(args.reports, outputDir)
    String stderrFile = "${outputDir}/stowaway.stderr"

    List words = [(args.command ?: 'stowaway').toString(), 'scan', image]
    for (String format : reports.keySet()) {
        words << '--report' << "${format}=${reports[format]}".toString()
    }
    // The verdict quotes the table's violation lines: core has neutralised them there (docs/log-safety.md),
    // while the JSON report holds the raw text, whose ESC bytes Jenkins would read as console notes.
    String tableFile = reports.table ?: "${outputDir}/${REPORT_FILES.table}".toString()
    if (!reports.table) { words << '--report' << "table=${tableFile}".toString() }
    addOption(words, '--policy', args.policy)
    addOption(words, '--fail-on', args.failOn)
    addOption(words, '--severity', args.severity)
    addOption(words, '--db', args.db)
    addOption(words, '--baseline', args.baseline)
    addOption(words, '--platform', args.platform)
    addOption(words, '--ca-file', args.caFile)
    addOption(words, '--cache-dir', args.cacheDir)
    for (Object file : asList(args.ignoreFiles)) { addOption(words, '--ignore-file', file) }
    for (Object file : asList(args.vex)) { addOption(words, '--vex', file) }
    if (args.onlyFixed) { words << '--only-fixed' }
    if (args.offline) { words << '--offline' }
    if (args.insecure) { words << '--insecure' }

    // Secrets reach the CLI only as environment variables bound by withCredentials: never in the
    // Groovy-built command text, which Jenkins would echo and could not mask inside a GString.
    String script = "mkdir -p ${shellQuote(outputDir)} && ${shellWords(words)}"
    List bindings = []
    if (args.credentialsId) {
        bindings << usernamePassword(credentialsId: args.credentialsId.toString(),
                usernameVariable: 'STOWAWAY_USERNAME', passwordVariable: 'STOWAWAY_PASSWORD')
    }
    if (args.registryTokenCredentialsId) {
        bindings << string(credentialsId: args.registryTokenCredentialsId.toString(), variable: 'STOWAWAY_REGISTRY_TOKEN')
        script += ' --registry-token "$STOWAWAY_REGISTRY_TOKEN"'
    }
    script += " 2>${shellQuote(stderrFile)}"

    int status
    if (bindings) {
        withCredentials(bindings) { status = sh(script: script, returnStatus: true) }
    } else {
        status = sh(script: script, returnStatus: true)
    }
    String stderr = fileExists(stderrFile) ? readFile(stderrFile).trim() : ''
    if (stderr) { echo(stderr) }

    if (status != 0 && status != 1) {
        error("Stowaway could not scan ${image} (exit ${status}): ${stderr ?: 'see the log above'}")
    }

    // Evidence first: tests, issues and artifacts are recorded before the verdict ends the step.
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

    Map report = readJSON(file: reports.json)
    List violations = report.policy ? (report.policy.violations ?: []) : []
    String outcome = status == 1 ? (mode == 'warn' ? 'warn' : 'fail') : (violations ? 'warn' : 'pass')
    Map summary = [outcome: outcome, exitCode: status, counts: severityCounts(report), reports: reports,
                   violations: violations.size()]

    List lines = violationLines(tableFile)
    if (outcome == 'fail') {
        currentBuild.result = 'FAILURE'
        error("Stowaway gate failed for ${image}:\n${lines.join('\n')}")
    }
    if (outcome == 'warn') {
        currentBuild.result = 'UNSTABLE'
        echo("Stowaway gate violations (not failing the build):\n${lines.join('\n')}")
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

/** The JSON report is always written: the verdict is read from it. */
private Map reportFiles(Object requested, String outputDir) {
    List formats = requested == null ? ['junit', 'sarif', 'html'] : asList(requested)
    Map files = [json: "${outputDir}/${REPORT_FILES.json}".toString()]
    for (Object item : formats) {
        String format = item.toString().trim().toLowerCase()
        if (!format) { continue }
        if (!REPORT_FILES.containsKey(format)) {
            error("stowawayScan: unknown report format ${format}; use ${REPORT_FILES.keySet().join(', ')}")
        }
        files[format] = "${outputDir}/${REPORT_FILES[format]}".toString()
    }
    return files
}

/** Lists may be given as a List or as a comma/newline separated String, as in the other adapters. */
private List asList(Object value) {
    if (value == null) { return [] }
    if (value instanceof Collection) { return value as List }
    List items = []
    for (String part : value.toString().split(/[,\n]/)) {
        if (part.trim()) { items << part.trim() }
    }
    return items
}

private void addOption(List words, String flag, Object value) {
    if (value != null && value.toString() != '') { words << flag << value.toString() }
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

/** Active findings per severity (suppressed ones left out), for the step's return value. */
private Map severityCounts(Map report) {
    Map counts = [critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0]
    Set suppressed = [] as Set
    if (report.policy && report.policy.suppressed) {
        for (Object entry : report.policy.suppressed) { suppressed << entry.findingId }
    }
    for (Object finding : (report.findings ?: [])) {
        if (!suppressed.contains(finding.findingId)) { counts[finding.severity] = counts[finding.severity] + 1 }
    }
    return counts
}
