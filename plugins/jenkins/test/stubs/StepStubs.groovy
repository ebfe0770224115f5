import groovy.json.JsonSlurper

/**
 * The pipeline steps stowawayScan uses, as a script base class for plain Groovy. Not mocks that
 * return canned values: `sh` runs the real command, `readJSON` parses the real file, `junit` reads
 * the real XML and marks the build UNSTABLE on failures as the JUnit plugin does, and
 * `currentBuild.result` can only get worse, as in Jenkins. Every call is recorded in `state`.
 */
abstract class StepStubs extends Script {
    static Map state = [sh: [], junit: [], recordIssues: [], archiveArtifacts: [], echo: [], credentialStore: [:]]
    static BuildStub build = new BuildStub()
    static Map boundEnv = [:]
    static File workspace = new File('.').canonicalFile

    BuildStub getCurrentBuild() { build }

    def sh(Map args) {
        String script = args.script.toString()
        ProcessBuilder builder = new ProcessBuilder('sh', '-c', script).directory(workspace).redirectErrorStream(true)
        builder.environment().putAll(boundEnv)
        Process process = builder.start()
        String output = process.inputStream.getText('UTF-8')
        int status = process.waitFor()
        System.out.print(output)
        state.sh << [script: script, status: status, output: output]
        if (args.returnStatus) { return status }
        if (status != 0) { throw new StepError("script returned exit code ${status}") }
        return args.returnStdout ? output : null
    }

    def junit(Map args) {
        state.junit << args
        File file = new File(workspace, args.testResults.toString())
        if (!file.exists()) {
            if (!args.allowEmptyResults) { throw new StepError("No test report files were found: ${args.testResults}") }
            return
        }
        def xml = new XmlSlurper().parse(file)
        int failures = xml.'**'.findAll { it.name() == 'testcase' && it.failure.size() > 0 }.size()
        if (failures > 0) { build.result = 'UNSTABLE' }
    }

    Map sarif(Map args) { [tool: 'sarif'] + args }

    def recordIssues(Map args) { state.recordIssues << args }

    def archiveArtifacts(Map args) { state.archiveArtifacts << args }

    Map usernamePassword(Map args) { [binding: 'usernamePassword'] + args }

    Map string(Map args) { [binding: 'string'] + args }

    def withCredentials(List bindings, Closure body) {
        Map added = [:]
        for (Map binding : bindings) {
            Map credential = state.credentialStore[binding.credentialsId]
            if (credential == null) { throw new StepError("Could not find credentials entry with ID '${binding.credentialsId}'") }
            if (binding.binding == 'usernamePassword') {
                added[binding.usernameVariable] = credential.username
                added[binding.passwordVariable] = credential.password
            } else {
                added[binding.variable] = credential.secret
            }
        }
        boundEnv.putAll(added)
        try {
            return body.call()
        } finally {
            for (Object key : added.keySet()) { boundEnv.remove(key) }
        }
    }

    def readJSON(Map args) { new JsonSlurper().parse(new File(workspace, args.file.toString()), 'UTF-8') }

    String readFile(String path) { new File(workspace, path).getText('UTF-8') }

    boolean fileExists(String path) { new File(workspace, path).exists() }

    def error(String message) { throw new StepError(message) }

    def echo(Object message) {
        System.out.println(message)
        state.echo << message.toString()
    }
}
