/**
 * Maven groupIds for well-known artifacts that commonly ship WITHOUT a pom.properties: Tomcat's jars
 * (built with Ant), the Spring, Kotlin and gRPC jars (built with Gradle), and a few others whose
 * advisories are frequent. An entry is here only when the artifactId has been published under that
 * one groupId for the releases images carry; artifactIds that moved between groups across majors
 * (okhttp, hibernate-core, Jackson 3's tools.jackson.*) are left out on purpose, since a wrong group
 * is worse than none. Keys are artifactIds exactly as Maven Central spells them (case-sensitive).
 * The groupId rules as a whole: docs/catalogers.md.
 */
export const WELL_KNOWN_GROUPS: Readonly<Record<string, readonly string[]>> = {
  "org.apache.tomcat.embed": [
    "tomcat-embed-core",
    "tomcat-embed-el",
    "tomcat-embed-jasper",
    "tomcat-embed-websocket",
    "tomcat-embed-logging-juli",
  ],
  "org.apache.tomcat": [
    "tomcat-annotations-api",
    "tomcat-api",
    "tomcat-catalina",
    "tomcat-catalina-ha",
    "tomcat-coyote",
    "tomcat-dbcp",
    "tomcat-el-api",
    "tomcat-jasper",
    "tomcat-jasper-el",
    "tomcat-jaspic-api",
    "tomcat-jdbc",
    "tomcat-jni",
    "tomcat-jsp-api",
    "tomcat-juli",
    "tomcat-servlet-api",
    "tomcat-ssi",
    "tomcat-storeconfig",
    "tomcat-tribes",
    "tomcat-util",
    "tomcat-util-scan",
    "tomcat-websocket",
    "tomcat-websocket-api",
  ],
  "org.springframework": [
    "spring-aop",
    "spring-aspects",
    "spring-beans",
    "spring-context",
    "spring-context-support",
    "spring-core",
    "spring-expression",
    "spring-jcl",
    "spring-jdbc",
    "spring-jms",
    "spring-messaging",
    "spring-orm",
    "spring-oxm",
    "spring-tx",
    "spring-web",
    "spring-webflux",
    "spring-webmvc",
    "spring-websocket",
  ],
  "org.springframework.boot": [
    "spring-boot",
    "spring-boot-actuator",
    "spring-boot-actuator-autoconfigure",
    "spring-boot-autoconfigure",
    "spring-boot-loader",
  ],
  "org.springframework.security": [
    "spring-security-config",
    "spring-security-core",
    "spring-security-crypto",
    "spring-security-oauth2-client",
    "spring-security-oauth2-core",
    "spring-security-oauth2-jose",
    "spring-security-oauth2-resource-server",
    "spring-security-web",
  ],
  "org.apache.logging.log4j": [
    "log4j-1.2-api",
    "log4j-api",
    "log4j-core",
    "log4j-jul",
    "log4j-slf4j-impl",
    "log4j-web",
  ],
  log4j: ["log4j"],
  "org.jetbrains.kotlin": ["kotlin-reflect", "kotlin-stdlib", "kotlin-stdlib-jdk7", "kotlin-stdlib-jdk8"],
  "io.grpc": ["grpc-api", "grpc-core", "grpc-netty", "grpc-netty-shaded", "grpc-protobuf", "grpc-stub"],
  "com.google.protobuf": ["protobuf-java", "protobuf-java-util"],
  "javax.activation": ["activation"],
};

const WELL_KNOWN: ReadonlyMap<string, string> = new Map(
  Object.entries(WELL_KNOWN_GROUPS).flatMap(([groupId, artifactIds]) =>
    artifactIds.map((artifactId) => [artifactId, groupId]),
  ),
);

/** The groupId a well-known artifactId is published under, or undefined when it is not in the table. */
export function wellKnownGroupId(artifactId: string): string | undefined {
  return WELL_KNOWN.get(artifactId);
}
