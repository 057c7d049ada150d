package chronik.clients;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * SASL_SSL with the Java client: a SCRAM user created through alterUserScramCredentials on the
 * PLAINTEXT listener produces and consumes over SASL_SSL (PEM truststore); a wrong password
 * is refused and writes nothing; a deleted user can no longer authenticate.
 */
class SecurityTests {
  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    Check.that(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0,
        "openssl " + String.join(" ", args));
  }

  /** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
  private static void makeCertificates(Path dir) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=java-ca");
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    Files.writeString(dir.resolve("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
  }

  private static Map<String, Object> scram(int port, Path ca, String user, String password) {
    Map<String, Object> conf = new HashMap<>();
    conf.put("bootstrap.servers", "127.0.0.1:" + port);
    conf.put("security.protocol", "SASL_SSL");
    conf.put("sasl.mechanism", "SCRAM-SHA-512");
    conf.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule "
        + "required username=\"" + user + "\" password=\"" + password + "\";");
    conf.put("ssl.truststore.type", "PEM");
    conf.put("ssl.truststore.location", ca.toString());
    return conf;
  }

  @Test({"tls", "sasl", "scram-admin"})
  void scramUsersMadeThroughTheAdminApiAuthenticateOverSaslSsl(Kit kit) throws Exception {
    Path certs = Files.createTempDirectory("chronik-java-certs-");
    makeCertificates(certs);
    int saslPort = Broker.freePort();
    List<String> flags = List.of(
        "--listeners", "PLAINTEXT://{bootstrap},SASL_SSL://127.0.0.1:" + saslPort,
        "--tls-cert", certs.resolve("server.pem").toString(),
        "--tls-key", certs.resolve("server.key").toString());
    Kit.onOwnBroker(kit, flags, own -> {
      Check.get(own.admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
          "carol", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), "carol-pw")))
          .all());
      UserScramCredentialsDescription described = Check.get(
          own.admin.describeUserScramCredentials(List.of("carol")).description("carol"));
      Check.equal(List.of(new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)),
          described.credentialInfos(), "carol's credentials");

      String topic = own.createTopic(Kit.unique("secure"), 1);
      TopicPartition tp = new TopicPartition(topic, 0);
      Path ca = certs.resolve("ca.pem");
      KafkaProducer<byte[], byte[]> producer = own.producer(scram(saslPort, ca, "carol", "carol-pw"));
      for (int i = 0; i < 10; i++) {
        producer.send(new ProducerRecord<>(topic, 0, null, ("r" + i).getBytes())).get();
      }
      Check.equal(10, own.readPartition(tp, 0, scram(saslPort, ca, "carol", "carol-pw")).size(),
          "records read back over SASL_SSL");

      KafkaProducer<byte[], byte[]> impostor = own.producer(
          scram(saslPort, ca, "carol", "not-her-password"));
      Check.fails(SaslAuthenticationException.class, "a wrong password",
          () -> impostor.send(new ProducerRecord<>(topic, 0, null, "x".getBytes())).get());
      Check.equal(10, own.readPartition(tp, 0).size(), "records after the impostor's attempt");

      Check.get(own.admin.alterUserScramCredentials(List.of(
          new UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_512))).all());
      Check.fails(ResourceNotFoundException.class, "describing a deleted user",
          () -> own.admin.describeUserScramCredentials(List.of("carol")).description("carol")
              .get());
    });
  }

  private static Map<String, Object> scramPlaintext(int port, String user, String password) {
    Map<String, Object> conf = new HashMap<>();
    conf.put("bootstrap.servers", "127.0.0.1:" + port);
    conf.put("security.protocol", "SASL_PLAINTEXT");
    conf.put("sasl.mechanism", "SCRAM-SHA-512");
    conf.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule "
        + "required username=\"" + user + "\" password=\"" + password + "\";");
    return conf;
  }

  @Test({"sasl", "acls"})
  void aclsMadeWithTheAdminApiDecideWhatAUserMayWrite(Kit kit) throws Exception {
    int saslPort = Broker.freePort();
    // The PLAINTEXT listener's ANONYMOUS principal is the admin here; dave comes in over SASL.
    List<String> flags = List.of(
        "--listeners", "PLAINTEXT://{bootstrap},SASL_PLAINTEXT://127.0.0.1:" + saslPort,
        "--authorizer", "acl", "--super-users", "User:ANONYMOUS");
    Kit.onOwnBroker(kit, flags, own -> {
      Check.get(own.admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
          "dave", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), "dave-pw")))
          .all());
      String topic = own.createTopic(Kit.unique("guarded"), 1);
      TopicPartition tp = new TopicPartition(topic, 0);
      Map<String, Object> dave = scramPlaintext(saslPort, "dave", "dave-pw");
      dave.put("max.block.ms", 5_000);
      KafkaProducer<byte[], byte[]> refused = own.producer(dave);
      Check.fails(TopicAuthorizationException.class, "writing without an ACL",
          () -> refused.send(new ProducerRecord<>(topic, 0, null, "x".getBytes())).get());
      Check.equal(0, own.readPartition(tp, 0).size(), "records after the refused write");

      AclBinding write = new AclBinding(
          new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
          new AccessControlEntry("User:dave", "*", AclOperation.WRITE, AclPermissionType.ALLOW));
      Check.get(own.admin.createAcls(List.of(write)).all());
      Check.equal(List.of(write),
          List.copyOf(Check.get(own.admin.describeAcls(AclBindingFilter.ANY).values())),
          "the ACLs described");
      KafkaProducer<byte[], byte[]> allowed = own.producer(dave);
      allowed.send(new ProducerRecord<>(topic, 0, null, "y".getBytes())).get();
      Check.equal(1, own.readPartition(tp, 0).size(), "records after the allowed write");
      Check.equal(1, Check.get(own.admin.deleteAcls(List.of(write.toFilter())).all()).size(),
          "ACLs deleted");
    });
  }
}
